"""the console's customer list: its indexes and saved segments (issue #14, part 4)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_segment',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=256), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_segment')),
    sa.UniqueConstraint('corp_id', 'name', name=op.f('uq_customer_segment_corp_id_name'))
    )
    with op.batch_alter_table('customer_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_segment_corp_id'), ['corp_id'], unique=False)
    with op.batch_alter_table('follow_relation', schema=None) as batch_op:
        batch_op.create_index('ix_follow_relation_added', ['corp_id', 'added_at', 'id'], unique=False,
                              postgresql_include=['status', 'userid', 'external_userid'])
        batch_op.create_index('ix_follow_relation_owner_added', ['corp_id', 'userid', 'added_at'], unique=False,
                              postgresql_include=['id', 'status', 'external_userid'])
        batch_op.create_index('ix_follow_relation_state', ['corp_id', 'state'], unique=False)
    with op.batch_alter_table('relation_tag', schema=None) as batch_op:
        batch_op.create_index('ix_relation_tag_key', ['corp_id', 'tag_key', 'userid', 'external_userid'], unique=False)
    with op.batch_alter_table('relation_risk', schema=None) as batch_op:
        batch_op.create_index('ix_relation_risk_probe', ['relation_id', 'level', 'last_interaction_at'], unique=False)
        batch_op.create_index('ix_relation_risk_interaction', ['corp_id', 'last_interaction_at'], unique=False)
    with op.batch_alter_table('customer_stage', schema=None) as batch_op:
        batch_op.create_index('ix_customer_stage_probe', ['corp_id', 'external_userid', 'stage_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # The list's search is a prefix match on the customer's name and the relation's remark:
        # pattern-ops indexes serve `LIKE 'text%'` whatever the database's collation.
        op.execute('CREATE INDEX ix_customer_name_prefix ON customer (corp_id, name varchar_pattern_ops)')
        op.execute('CREATE INDEX ix_follow_relation_remark_prefix ON follow_relation (corp_id, remark varchar_pattern_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_follow_relation_remark_prefix')
        op.execute('DROP INDEX IF EXISTS ix_customer_name_prefix')
    with op.batch_alter_table('customer_stage', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_stage_probe')
    with op.batch_alter_table('relation_risk', schema=None) as batch_op:
        batch_op.drop_index('ix_relation_risk_interaction')
        batch_op.drop_index('ix_relation_risk_probe')
    with op.batch_alter_table('relation_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_relation_tag_key')
    with op.batch_alter_table('follow_relation', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_relation_state')
        batch_op.drop_index('ix_follow_relation_owner_added')
        batch_op.drop_index('ix_follow_relation_added')
    with op.batch_alter_table('customer_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_segment_corp_id'))
    op.drop_table('customer_segment')
