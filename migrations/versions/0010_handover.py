"""Staff departure (离职继承) and on-the-job reassignment (在职转接): handover batches and items;
staff department leadership; a follow-up's reminder assignee

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('handover_batch',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('handover_userid', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('team', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transfer_success_msg', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_batch'))
    )
    with op.batch_alter_table('handover_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_batch_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_handover_batch_handover', ['corp_id', 'handover_userid'], unique=False)
        batch_op.create_index('ix_handover_batch_status', ['status'], unique=False)

    op.create_table('handover_item',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('takeover_userid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('next_check_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('moved_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['handover_batch.id'], name=op.f('fk_handover_item_batch_id_handover_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_item')),
    sa.UniqueConstraint('batch_id', 'target', 'target_id', name=op.f('uq_handover_item_batch_id_target_target_id'))
    )
    with op.batch_alter_table('handover_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_item_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_handover_item_check', ['status', 'next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_item_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_handover_item_target', ['corp_id', 'target_id'], unique=False)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_leader_in_dept', sa.JSON(), nullable=True))

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_userid', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_column('assignee_userid')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('is_leader_in_dept')

    with op.batch_alter_table('handover_item', schema=None) as batch_op:
        batch_op.drop_index('ix_handover_item_target')
        batch_op.drop_index(batch_op.f('ix_handover_item_corp_id'))
        batch_op.drop_index('ix_handover_item_check')
        batch_op.drop_index(batch_op.f('ix_handover_item_batch_id'))

    op.drop_table('handover_item')
    with op.batch_alter_table('handover_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_handover_batch_status')
        batch_op.drop_index('ix_handover_batch_handover')
        batch_op.drop_index(batch_op.f('ix_handover_batch_corp_id'))

    op.drop_table('handover_batch')
