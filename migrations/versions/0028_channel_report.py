"""channel report: aggregates per channel code and member (channel_daily_stat, channel_month_stat), channel cost

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 22:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('channel_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('adds', sa.Integer(), nullable=False),
    sa.Column('welcomed', sa.Integer(), nullable=False),
    sa.Column('eligible_7', sa.Integer(), nullable=False),
    sa.Column('retained_7', sa.Integer(), nullable=False),
    sa.Column('eligible_30', sa.Integer(), nullable=False),
    sa.Column('retained_30', sa.Integer(), nullable=False),
    sa.Column('staged', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'channel_id', 'userid', 'stage_id',
                        name=op.f('uq_channel_daily_stat_corp_id_day_channel_id_userid_stage_id'))
    )
    with op.batch_alter_table('channel_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_daily_stat_corp_id'), ['corp_id'], unique=False)

    op.create_table('channel_month_stat',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('adds', sa.Integer(), nullable=False),
    sa.Column('welcomed', sa.Integer(), nullable=False),
    sa.Column('eligible_7', sa.Integer(), nullable=False),
    sa.Column('retained_7', sa.Integer(), nullable=False),
    sa.Column('eligible_30', sa.Integer(), nullable=False),
    sa.Column('retained_30', sa.Integer(), nullable=False),
    sa.Column('staged', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_month_stat')),
    sa.UniqueConstraint('corp_id', 'month', 'channel_id', 'userid', 'stage_id',
                        name=op.f('uq_channel_month_stat_corp_id_month_channel_id_userid_stage_id'))
    )
    with op.batch_alter_table('channel_month_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_month_stat_corp_id'), ['corp_id'], unique=False)

    op.create_table('channel_cost',
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_channel_cost_channel_id_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_cost')),
    sa.UniqueConstraint('corp_id', 'channel_id', 'month', name=op.f('uq_channel_cost_corp_id_channel_id_month'))
    )
    with op.batch_alter_table('channel_cost', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_cost_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_channel_cost_month', ['corp_id', 'month'], unique=False)


def downgrade():
    with op.batch_alter_table('channel_cost', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_cost_month')
        batch_op.drop_index(batch_op.f('ix_channel_cost_corp_id'))
    op.drop_table('channel_cost')
    with op.batch_alter_table('channel_month_stat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_month_stat_corp_id'))
    op.drop_table('channel_month_stat')
    with op.batch_alter_table('channel_daily_stat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_daily_stat_corp_id'))
    op.drop_table('channel_daily_stat')
