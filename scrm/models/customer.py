"""Customers (external contacts), staff–customer follow relations, their tags, the timeline."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class Customer(CorpScoped, Timestamped, db.Model):
    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("corp_id", "external_userid"),)
    external_userid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(128))
    avatar: Mapped[str | None] = mapped_column(String(512))
    type: Mapped[int | None]  # 1 WeChat user, 2 WeCom user
    gender: Mapped[int | None]  # 0 unknown, 1 male, 2 female
    corp_name: Mapped[str | None] = mapped_column(String(128))
    corp_full_name: Mapped[str | None] = mapped_column(String(256))
    position: Mapped[str | None] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(64))
    external_profile: Mapped[dict | None] = mapped_column(JSON)
    msg_audit_approved_at: Mapped[datetime | None] = mapped_column(DateTime)


class RelationStatus(StrEnum):
    ACTIVE = "active"
    DELETED_BY_STAFF = "deleted_by_staff"
    DELETED_BY_CUSTOMER = "deleted_by_customer"
    TRANSFERRED = "transferred"
    # A clean full sync no longer found the relation in WeCom's list for a staff member it did
    # list: someone ended it and the callback that said who was lost.
    DELETED_UNKNOWN = "deleted_unknown"


class FollowRelation(CorpScoped, Timestamped, db.Model):
    """One row per staff–customer pair (WeCom's follow_user)."""

    __tablename__ = "follow_relation"
    __table_args__ = (
        UniqueConstraint("corp_id", "userid", "external_userid"),
        Index("ix_follow_relation_customer", "corp_id", "external_userid"),
        # the console's customer list (scrm/services/customer_search): newest adds first, per owner, per
        # channel; on PostgreSQL the columns the filters read ride along (index-only scans)
        Index("ix_follow_relation_added", "corp_id", "added_at", "id",
              postgresql_include=["status", "userid", "external_userid"]),
        Index("ix_follow_relation_owner_added", "corp_id", "userid", "added_at",
              postgresql_include=["id", "status", "external_userid"]),
        Index("ix_follow_relation_state", "corp_id", "state"),
    )
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    remark: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(512))
    remark_corp_name: Mapped[str | None] = mapped_column(String(128))
    remark_mobiles: Mapped[list | None] = mapped_column(JSON)
    add_way: Mapped[int | None]
    state: Mapped[str | None] = mapped_column(String(64))
    oper_userid: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(32), default=RelationStatus.ACTIVE)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    transfer_fail_reason: Mapped[str | None] = mapped_column(String(64))
    # The last sync run that found this relation in WeCom (see scrm/services/sync): a full pass
    # without errors marks the active relations it did not find deleted_unknown.
    seen_run_id: Mapped[int | None]


class RelationTag(CorpScoped, db.Model):
    """A tag on a follow relation. Personal tags (type 2) have no tag_id in WeCom."""

    __tablename__ = "relation_tag"
    __table_args__ = (
        UniqueConstraint("corp_id", "userid", "external_userid", "tag_key"),
        Index("ix_relation_tag_tag", "corp_id", "tag_id"),
        # the customer list's tag filter, starting from the tag (scrm/services/customer_search)
        Index("ix_relation_tag_key", "corp_id", "tag_key", "userid", "external_userid"),
    )
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    tag_key: Mapped[str] = mapped_column(String(160))  # tag_id, or "personal:<name>"
    tag_id: Mapped[str | None] = mapped_column(String(64))
    tag_name: Mapped[str | None] = mapped_column(String(64))
    group_name: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[int | None]  # 1 corp, 2 personal, 3 rule group
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TimelineEntry(CorpScoped, db.Model):
    """Every event that touched a customer or a relation, in order, with its source."""

    __tablename__ = "timeline_entry"
    # Newest first by (occurred_at, id): the sidebar's timeline pages and the Open API's detail.
    # By kind and time: the funnel aggregate reads the stage changes (scrm/services/reports/stage_day.py).
    __table_args__ = (Index("ix_timeline_customer_time", "corp_id", "external_userid", "occurred_at", "id"),
                      Index("ix_timeline_kind_time", "corp_id", "kind", "occurred_at"))
    external_userid: Mapped[str] = mapped_column(String(64))
    userid: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # callback | sync | api | sidebar | job
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("callback_event.id"))
    summary: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
