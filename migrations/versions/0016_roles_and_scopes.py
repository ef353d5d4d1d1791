"""roles and data scopes: the role "leader" becomes "manager"

Data scope "department" keeps its name and now means the member's departments and every
department below them (scrm/services/policy); no column changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE staff_role SET role = 'manager' WHERE role = 'leader'")


def downgrade():
    # operator had no equivalent before: it was closest to a salesperson with a wider scope.
    op.execute("UPDATE staff_role SET role = 'leader' WHERE role = 'manager'")
    op.execute("UPDATE staff_role SET role = 'sales' WHERE role = 'operator'")
