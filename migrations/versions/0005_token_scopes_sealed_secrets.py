"""Open API token scopes and expiry; room for sealed corp secrets; audit retention index

Existing tokens become `admin` (what they could do before). Corp secrets written by
`flask scrm corp add` are now Fernet-sealed (longer than the plaintext): the columns widen.

Revision ID: 0005
Revises: 0004

"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=8), nullable=False, server_default='admin'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('corp', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128), type_=sa.String(length=512))
        batch_op.alter_column('token', existing_type=sa.String(length=64), type_=sa.String(length=512))
        batch_op.alter_column('aes_key', existing_type=sa.String(length=64), type_=sa.String(length=512))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')
    with op.batch_alter_table('corp', schema=None) as batch_op:
        batch_op.alter_column('aes_key', existing_type=sa.String(length=512), type_=sa.String(length=64))
        batch_op.alter_column('token', existing_type=sa.String(length=512), type_=sa.String(length=64))
        batch_op.alter_column('secret', existing_type=sa.String(length=512), type_=sa.String(length=128))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
