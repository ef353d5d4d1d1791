"""morning digest: digest_run (one per corp and local day) and digest_message (one per recipient,
kind and day, sent exactly once)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 18:40:39.752370

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_message',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('msgid', sa.String(length=128), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_message')),
    sa.UniqueConstraint('corp_id', 'day', 'userid', 'kind', name=op.f('uq_digest_message_corp_id_day_userid_kind'))
    )
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_message_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_digest_message_status', ['status', 'next_attempt_at'], unique=False)

    op.create_table('digest_run',
    sa.Column('run_day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_run')),
    sa.UniqueConstraint('corp_id', 'run_day', name=op.f('uq_digest_run_corp_id_run_day'))
    )
    with op.batch_alter_table('digest_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_run_corp_id'), ['corp_id'], unique=False)



def downgrade():
    with op.batch_alter_table('digest_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_run_corp_id'))

    op.drop_table('digest_run')
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_message_status')
        batch_op.drop_index(batch_op.f('ix_digest_message_corp_id'))

    op.drop_table('digest_message')
