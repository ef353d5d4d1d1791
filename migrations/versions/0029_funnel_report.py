"""funnel report: stage_daily_stat (relations per funnel stage, member and channel per local day),
stage_daily_total (the whole corp per day and stage) and an index on timeline_entry by kind and time (the stage changes)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stage_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('entered', sa.Integer(), nullable=False),
    sa.Column('entered_total', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'stage_id', 'userid', 'state',
                        name=op.f('uq_stage_daily_stat_corp_id_day_stage_id_userid_state'))
    )
    with op.batch_alter_table('stage_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_daily_stat_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_stage_daily_stat_user', ['corp_id', 'userid', 'day'], unique=False)
        batch_op.create_index('ix_stage_daily_stat_department', ['corp_id', 'department_id', 'day'], unique=False)
    op.create_table('stage_daily_total',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('entered', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_daily_total')),
    sa.UniqueConstraint('corp_id', 'day', 'stage_id', name=op.f('uq_stage_daily_total_corp_id_day_stage_id'))
    )
    with op.batch_alter_table('stage_daily_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_daily_total_corp_id'), ['corp_id'], unique=False)
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_kind_time', ['corp_id', 'kind', 'occurred_at'], unique=False)


def downgrade():
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_timeline_kind_time')
    with op.batch_alter_table('stage_daily_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_daily_total_corp_id'))
    op.drop_table('stage_daily_total')
    with op.batch_alter_table('stage_daily_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_daily_stat_department')
        batch_op.drop_index('ix_stage_daily_stat_user')
        batch_op.drop_index(batch_op.f('ix_stage_daily_stat_corp_id'))
    op.drop_table('stage_daily_stat')
