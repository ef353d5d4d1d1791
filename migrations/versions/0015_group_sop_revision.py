"""group SOP plans: a revision token, new on every change (the sweep caches plan definitions by it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('group_sop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.String(length=16), nullable=False, server_default=''))
    # Existing plans: a random token each (the cache is keyed by plan id and revision).
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE group_sop SET revision = substr(md5(random()::text || id::text), 1, 16)")
    else:
        op.execute("UPDATE group_sop SET revision = lower(hex(randomblob(8)))")


def downgrade():
    with op.batch_alter_table('group_sop', schema=None) as batch_op:
        batch_op.drop_column('revision')
