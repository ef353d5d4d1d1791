"""the customer list's search rows: relation_search, one flat row per follow relation (issue #14)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None

# The rows of every relation, as scrm/services/customer_search/search_rows.py writes them (the
# corp tags as Tag.id: an integer array on PostgreSQL, ",3,17," text on SQLite).
FILL = """
INSERT INTO relation_search (relation_id, corp_id, userid, external_userid, status, state, added_at, stage_id,
                             risk_level, last_interaction_at, tag_ids)
SELECT fr.id, fr.corp_id, fr.userid, fr.external_userid, fr.status, fr.state, fr.added_at, cs.stage_id,
       rr.level, rr.last_interaction_at, {tags}
FROM follow_relation fr
LEFT JOIN customer_stage cs ON cs.corp_id = fr.corp_id AND cs.external_userid = fr.external_userid
LEFT JOIN relation_risk rr ON rr.relation_id = fr.id
"""
TAGS_OF_RELATION = """SELECT t.id AS tag_ids_id FROM relation_tag rt
    JOIN tag t ON t.corp_id = rt.corp_id AND t.tag_id = rt.tag_key
    WHERE rt.corp_id = fr.corp_id AND rt.userid = fr.userid AND rt.external_userid = fr.external_userid
    ORDER BY t.id"""


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table('relation_search',
    sa.Column('relation_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=True),
    sa.Column('stage_id', sa.Integer(), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('last_interaction_at', sa.DateTime(), nullable=True),
    sa.Column('tag_ids', postgresql.ARRAY(sa.Integer()) if postgres else sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['relation_id'], ['follow_relation.id'],
                            name=op.f('fk_relation_search_relation_id_follow_relation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('relation_id', name=op.f('pk_relation_search'))
    )
    if postgres:
        op.execute(FILL.format(tags=f"coalesce(ARRAY({TAGS_OF_RELATION}), '{{}}')"))
    else:
        op.execute(FILL.format(tags="coalesce(',' || (SELECT group_concat(tag_ids_id, ',') FROM "
                                    f"({TAGS_OF_RELATION}) AS tag_ids_q) || ',', '')"))
    with op.batch_alter_table('relation_search', schema=None) as batch_op:
        # status (nearly always "active") leads: each filter's probe narrows by it too
        batch_op.create_index('ix_relation_search_owner', ['corp_id', 'userid', 'status', 'added_at'], unique=False)
        batch_op.create_index('ix_relation_search_stage', ['corp_id', 'status', 'stage_id', 'risk_level'],
                              unique=False)
        batch_op.create_index('ix_relation_search_risk', ['corp_id', 'status', 'risk_level', 'last_interaction_at'],
                              unique=False)
        batch_op.create_index('ix_relation_search_state', ['corp_id', 'status', 'state', 'added_at'], unique=False)
        if not postgres:
            batch_op.create_index('ix_relation_search_added', ['corp_id', 'status', 'added_at', 'relation_id'],
                                  unique=False)
            batch_op.create_index('ix_relation_search_interaction', ['corp_id', 'status', 'last_interaction_at'],
                                  unique=False)
    if postgres:
        # The list's default order (newest adds first, nulls last) walked forwards, covering every
        # filter column: a page is an index-only walk that filters as it goes.
        op.execute('CREATE INDEX ix_relation_search_added ON relation_search '
                   '(corp_id, status, added_at DESC NULLS LAST, relation_id DESC) '
                   'INCLUDE (userid, external_userid, state, stage_id, risk_level, last_interaction_at, tag_ids)')
        op.execute('CREATE INDEX ix_relation_search_interaction ON relation_search '
                   '(corp_id, status, last_interaction_at DESC NULLS LAST, relation_id DESC)')
        op.execute('CREATE INDEX ix_relation_search_tags ON relation_search USING gin (tag_ids)')
        op.execute('ANALYZE relation_search')


def downgrade():
    op.drop_table('relation_search')
