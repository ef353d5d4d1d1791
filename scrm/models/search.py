"""The customer list's search rows (issue #14): one flat row per follow relation with every column
a filter reads — the relation's own (owner, status, channel state, added), the customer's funnel
stage, the churn score's level and last interaction, and the corp tags as one array — so a filter
is a few index probes on one table that PostgreSQL can BitmapAnd, never a join per filter.

The rows are derived: scrm/services/customer_search/search_rows.py writes them (set-based) from
follow_relation, relation_tag, customer_stage and relation_risk, and `flask scrm search rebuild`
rebuilds them. Nothing else writes here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from scrm.extensions import db


class TagIds(TypeDecorator):
    """The relation's corp tags as Tag.id integers. PostgreSQL: ``integer[]`` with a GIN index
    (``&&`` any, ``@>`` all). SQLite (small deployments): text ``,3,17,`` matched with LIKE."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Integer))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name == "postgresql":
            return value
        return "".join(f",{tag}" for tag in sorted(value)) + "," if value else ""

    def process_result_value(self, value, dialect):
        if value is None:
            return []
        if dialect.name == "postgresql":
            return sorted(value)
        return sorted(int(tag) for tag in value.split(",") if tag)


class RelationSearch(db.Model):
    """One per follow_relation row (same id); see the module docstring."""

    __tablename__ = "relation_search"
    __table_args__ = (
        # status (nearly always "active") leads, so each filter's probe narrows by it too. On
        # PostgreSQL (migration 0024) the first two are DESC NULLS LAST, relation_id DESC (the
        # list's orders walked forwards) and the first INCLUDEs every filter column (a page is an
        # index-only walk); the tags have a GIN index.
        Index("ix_relation_search_added", "corp_id", "status", "added_at", "relation_id"),
        Index("ix_relation_search_interaction", "corp_id", "status", "last_interaction_at"),
        Index("ix_relation_search_owner", "corp_id", "userid", "status", "added_at"),
        Index("ix_relation_search_stage", "corp_id", "status", "stage_id", "risk_level"),
        Index("ix_relation_search_risk", "corp_id", "status", "risk_level", "last_interaction_at"),
        Index("ix_relation_search_state", "corp_id", "status", "state", "added_at"),
        Index("ix_relation_search_tags", "tag_ids", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )
    relation_id: Mapped[int] = mapped_column(
        ForeignKey("follow_relation.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    corp_id: Mapped[str] = mapped_column(String(64))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    state: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime | None] = mapped_column(DateTime)
    stage_id: Mapped[int | None]  # customer_stage.stage_id (the customer's, on each of its relations)
    risk_level: Mapped[str | None] = mapped_column(String(16))  # relation_risk.level
    last_interaction_at: Mapped[datetime | None] = mapped_column(DateTime)  # relation_risk's
    tag_ids: Mapped[list[int]] = mapped_column(TagIds, default=list)
