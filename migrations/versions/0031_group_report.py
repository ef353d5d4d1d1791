"""groups report: group_owner_daily_rollup (day × owner: group_daily_stat summed) and
group_sop_daily_stat (day × plan × owner: SOP execution outcomes)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_owner_daily_rollup',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('groups', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('staff', sa.Integer(), nullable=False),
    sa.Column('joins', sa.Integer(), nullable=False),
    sa.Column('joins_invite', sa.Integer(), nullable=False),
    sa.Column('joins_link', sa.Integer(), nullable=False),
    sa.Column('joins_qrcode', sa.Integer(), nullable=False),
    sa.Column('joins_group_code', sa.Integer(), nullable=False),
    sa.Column('leaves', sa.Integer(), nullable=False),
    sa.Column('leaves_self', sa.Integer(), nullable=False),
    sa.Column('leaves_removed', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_owner_daily_rollup')),
    sa.UniqueConstraint('corp_id', 'day', 'owner', name=op.f('uq_group_owner_daily_rollup_corp_id_day_owner'))
    )
    with op.batch_alter_table('group_owner_daily_rollup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_owner_daily_rollup_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_group_owner_daily_rollup_owner', ['corp_id', 'owner', 'day'], unique=False)

    op.create_table('group_sop_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('executions', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('failed_not_sent', sa.Integer(), nullable=False),
    sa.Column('failed_already_received', sa.Integer(), nullable=False),
    sa.Column('capped', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_sop_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'plan_id', 'owner',
                        name=op.f('uq_group_sop_daily_stat_corp_id_day_plan_id_owner'))
    )
    with op.batch_alter_table('group_sop_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_sop_daily_stat_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_group_sop_daily_stat_owner', ['corp_id', 'owner', 'day'], unique=False)


def downgrade():
    with op.batch_alter_table('group_sop_daily_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_group_sop_daily_stat_owner')
        batch_op.drop_index(batch_op.f('ix_group_sop_daily_stat_corp_id'))

    op.drop_table('group_sop_daily_stat')
    with op.batch_alter_table('group_owner_daily_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_group_owner_daily_rollup_owner')
        batch_op.drop_index(batch_op.f('ix_group_owner_daily_rollup_corp_id'))

    op.drop_table('group_owner_daily_rollup')
