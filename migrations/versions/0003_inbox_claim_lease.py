"""inbox claim lease: callback_event.claimed_by (the claim token of the worker holding the row)

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("callback_event") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("callback_event") as batch:
        batch.drop_column("claimed_by")
