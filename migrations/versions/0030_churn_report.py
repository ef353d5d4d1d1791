"""churn and recall report: churn_daily_stat (day × member × channel code), risk_daily_stat
(day × member) and recall_daily_stat (day × playbook × member), issue #15 part 5

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

CHURN_FIGURES = ('lost_by_staff', 'lost_by_customer', 'lost_other', 'entered_active', 'entered_cooling',
                 'entered_dormant', 'entered_lost')
RISK_FIGURES = ('risk_active', 'risk_cooling', 'risk_dormant', 'risk_lost')
RECALL_FIGURES = ('sent', 'confirmed', 're_engaged', 'expired')


def upgrade():
    op.create_table('churn_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in CHURN_FIGURES),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_churn_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'userid', 'state', name=op.f('uq_churn_daily_stat_corp_id_day_userid_state'))
    )
    with op.batch_alter_table('churn_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_churn_daily_stat_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_churn_daily_stat_user', ['corp_id', 'userid', 'day'], unique=False)

    op.create_table('churn_month_stat',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in CHURN_FIGURES),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_churn_month_stat'))
    )
    with op.batch_alter_table('churn_month_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_churn_month_stat_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_churn_month_stat_month', ['corp_id', 'month'], unique=False)

    op.create_table('risk_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in RISK_FIGURES),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'userid', name=op.f('uq_risk_daily_stat_corp_id_day_userid'))
    )
    with op.batch_alter_table('risk_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_daily_stat_corp_id'), ['corp_id'], unique=False)

    op.create_table('recall_daily_stat',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('playbook_id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in RECALL_FIGURES),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall_daily_stat')),
    sa.UniqueConstraint('corp_id', 'day', 'playbook_id', 'userid',
                        name=op.f('uq_recall_daily_stat_corp_id_day_playbook_id_userid'))
    )
    with op.batch_alter_table('recall_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recall_daily_stat_corp_id'), ['corp_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recall_daily_stat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recall_daily_stat_corp_id'))
    op.drop_table('recall_daily_stat')
    with op.batch_alter_table('risk_daily_stat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_daily_stat_corp_id'))
    op.drop_table('risk_daily_stat')
    with op.batch_alter_table('churn_month_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_churn_month_stat_month')
        batch_op.drop_index(batch_op.f('ix_churn_month_stat_corp_id'))
    op.drop_table('churn_month_stat')
    with op.batch_alter_table('churn_daily_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_churn_daily_stat_user')
        batch_op.drop_index(batch_op.f('ix_churn_daily_stat_corp_id'))
    op.drop_table('churn_daily_stat')
