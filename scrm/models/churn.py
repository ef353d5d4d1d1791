"""Churn (issue #13, parts 1 and 2): what each relation did per corp-local day, its nightly RFE
score and risk level, per-corp and per-segment thresholds, WeCom's daily per-member behaviour
figures (`get_user_behavior_data`), and a record of each nightly run.

Scoring is set-based SQL over these tables (scrm/services/churn/score.py); see
docs/notes/readme-churn-scoring.md for the formula and the thresholds."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, DailyRun, Timestamped


class RiskLevel(StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    DORMANT = "dormant"
    LOST = "lost"


RISK_LABELS = {RiskLevel.ACTIVE: "活跃", RiskLevel.COOLING: "降温", RiskLevel.DORMANT: "沉睡",
               RiskLevel.LOST: "流失"}


class RelationActivityDay(CorpScoped, db.Model):
    """One relation's interactions on one corp-local day, rebuilt nightly from the sources
    (archived 1:1 messages, follow-ups, confirmed SOP sends). Only days with activity have rows."""

    __tablename__ = "relation_activity_day"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid", "external_userid"),
                      Index("ix_relation_activity_day_relation", "corp_id", "userid", "external_userid", "day"))
    day: Mapped[date] = mapped_column(Date)
    relation_id: Mapped[int]  # follow_relation.id: the scoring groups by it (one integer)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    inbound: Mapped[int] = mapped_column(default=0)     # messages from the customer
    outbound: Mapped[int] = mapped_column(default=0)    # messages from the staff member
    follow_ups: Mapped[int] = mapped_column(default=0)  # 跟进记录 written
    sop_sends: Mapped[int] = mapped_column(default=0)   # SOP steps confirmed sent to the customer
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_at: Mapped[datetime | None] = mapped_column(DateTime)  # the day's last interaction of any kind


class RelationRisk(CorpScoped, db.Model):
    """A relation's activity summary, RFE score and risk level (one row per relation, kept
    when the relation ends: a relation the customer deleted is `lost`)."""

    __tablename__ = "relation_risk"
    __table_args__ = (UniqueConstraint("corp_id", "userid", "external_userid"),
                      # the night's level changes (recall playbooks, scrm/services/recall/trigger.py)
                      Index("ix_relation_risk_changed", "corp_id", "level_changed_at"),
                      # the console's customer list filters (scrm/services/customer_search)
                      Index("ix_relation_risk_probe", "relation_id", "level", "last_interaction_at"),
                      Index("ix_relation_risk_interaction", "corp_id", "last_interaction_at"))
    # The follow_relation row (one per pair, kept when it ends): the nightly join on one integer.
    # No foreign key: its check would cost a lookup per row inserted; the scoring joins it anyway.
    relation_id: Mapped[int] = mapped_column(unique=True)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    last_interaction_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The last interaction, else the add: days silent are counted from it on reading, so a row
    # is rewritten only when a bucket, a count or the level changes (not every night).
    silent_since: Mapped[datetime | None] = mapped_column(DateTime)
    active_days_30: Mapped[int] = mapped_column(default=0)   # days with any interaction, last 30
    active_days_90: Mapped[int] = mapped_column(default=0)
    reply_days_90: Mapped[int] = mapped_column(default=0)    # days the customer wrote, last 90
    in_group: Mapped[bool] = mapped_column(Boolean, default=False)  # in a group the member owns
    recency: Mapped[int] = mapped_column(default=0)     # 0..5
    frequency: Mapped[int] = mapped_column(default=0)   # 0..5
    engagement: Mapped[int] = mapped_column(default=0)  # 0..5
    score: Mapped[int] = mapped_column(default=0)       # 0..100
    threshold_id: Mapped[int | None]                    # the segment's thresholds (None: corp default)
    reason: Mapped[str | None] = mapped_column(String(32))  # silent | deleted_by_customer | deleted_by_staff
    level: Mapped[str | None] = mapped_column(String(16))
    previous_level: Mapped[str | None] = mapped_column(String(16))
    level_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime)
    tagged_level: Mapped[str | None] = mapped_column(String(16))  # the level mirrored to WeCom tags


class ChurnThreshold(CorpScoped, Timestamped, db.Model):
    """Days of silence after which a relation is cooling / dormant / lost. kind "corp": the
    corp's default; "tag": relations carrying corp tag `value`; "stage": customers in funnel
    stage `value`. The matching row with the lowest `priority` wins (then tag before stage)."""

    __tablename__ = "churn_threshold"
    __table_args__ = (UniqueConstraint("corp_id", "kind", "value"),)
    kind: Mapped[str] = mapped_column(String(16))          # corp | tag | stage
    value: Mapped[str] = mapped_column(String(64), default="")  # tag_id / stage id; "" for corp
    name: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=100)
    cooling_days: Mapped[int]
    dormant_days: Mapped[int]
    lost_days: Mapped[int]


class ChurnSetting(CorpScoped, Timestamped, db.Model):
    """Per-corp churn options: mirroring levels to WeCom corp tags (`mark_tag`) when
    `tag_ids` maps levels to tag ids ({"dormant": "et…", …}) and `mirror_tags` is on."""

    __tablename__ = "churn_setting"
    __table_args__ = (UniqueConstraint("corp_id"),)
    mirror_tags: Mapped[bool] = mapped_column(Boolean, default=False)
    tag_ids: Mapped[dict | None] = mapped_column(JSON)


BEHAVIOUR_FIGURES = ("new_apply_cnt", "new_contact_cnt", "chat_cnt", "message_cnt", "negative_feedback_cnt")


class StaffBehaviorDay(CorpScoped, db.Model):
    """WeCom's figures for one member on one day (`get_user_behavior_data`; China Standard Time days)."""

    __tablename__ = "staff_behavior_day"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid"),
                      Index("ix_staff_behavior_day_user", "corp_id", "userid", "day"))
    day: Mapped[date] = mapped_column(Date)
    userid: Mapped[str] = mapped_column(String(64))
    new_apply_cnt: Mapped[int] = mapped_column(default=0)
    new_contact_cnt: Mapped[int] = mapped_column(default=0)
    chat_cnt: Mapped[int] = mapped_column(default=0)
    message_cnt: Mapped[int] = mapped_column(default=0)
    reply_percentage: Mapped[float | None] = mapped_column(Float)  # percent, e.g. 87.5
    avg_reply_time: Mapped[float | None] = mapped_column(Float)    # minutes
    negative_feedback_cnt: Mapped[int] = mapped_column(default=0)  # customers who deleted / blocked
    pulled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChurnRun(DailyRun, db.Model):
    """The nightly run for one corp and local day (one row: any number of schedulers run it once)."""

    __tablename__ = "churn_run"
    relations: Mapped[int] = mapped_column(default=0)  # relations scored
    changes: Mapped[int] = mapped_column(default=0)    # level changes written to the timeline
    staff_rows: Mapped[int] = mapped_column(default=0)  # behaviour rows pulled
    tagged: Mapped[int] = mapped_column(default=0)     # relations whose tags were mirrored
    error: Mapped[str | None] = mapped_column(Text)
