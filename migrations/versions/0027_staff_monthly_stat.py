"""staff_monthly_stat: the follow-up report's flows summed per month, member and department
(filled from the existing daily rows)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

FLOWS = ("new_customers", "lost_by_staff", "lost_by_customer", "lost_other", "transferred_out", "follow_ups",
         "next_due", "sop_due", "sop_confirmed", "recall_due", "recall_confirmed", "first_replies",
         "first_reply_seconds")


def upgrade():
    op.create_table('staff_monthly_stat',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('days', sa.Integer(), nullable=False),
    *(sa.Column(name, sa.BigInteger() if name == 'first_reply_seconds' else sa.Integer(), nullable=False)
      for name in FLOWS),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_monthly_stat'))
    )
    with op.batch_alter_table('staff_monthly_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_monthly_stat_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_staff_monthly_stat_month', ['corp_id', 'month', 'userid'], unique=False)

    # The months of the daily rows already written, so reports over whole months stay right.
    bind = op.get_bind()
    month = ("CAST(date_trunc('month', day) AS date)" if bind.dialect.name == "postgresql"
             else "date(day, 'start of month')")
    sums = ", ".join(f"SUM({name})" for name in FLOWS)
    op.execute(f"INSERT INTO staff_monthly_stat (corp_id, month, userid, department_id, days, {', '.join(FLOWS)}) "
               f"SELECT corp_id, {month}, userid, department_id, COUNT(*), {sums} FROM staff_daily_stat "
               f"GROUP BY corp_id, {month}, userid, department_id")


def downgrade():
    with op.batch_alter_table('staff_monthly_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_monthly_stat_month')
        batch_op.drop_index(batch_op.f('ix_staff_monthly_stat_corp_id'))

    op.drop_table('staff_monthly_stat')
