"""Churn alerts (issue #13, part 3): app messages (`message/send`) to staff members and their
managers, one row per fact to tell (a customer deleted a member, a relation became dormant, a
member lost or deleted unusually many customers today). The per-minute sweep sends every
pending row of one recipient as one message (scrm/services/churn/alerts/sending.py)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, DailyRun


class AlertKind(StrEnum):
    CUSTOMER_DELETED = "customer_deleted"  # a customer deleted `about_userid` (to them and their manager)
    DORMANT = "dormant"                    # the relation became dormant last night (the daily digest)
    ANOMALY = "anomaly"                    # `about_userid` lost / deleted unusually many customers today


class AlertStatus(StrEnum):
    PENDING = "pending"  # waiting for the sweep (or for a retry: next_attempt_at)
    SENDING = "sending"  # claimed by one sweep (claim_token)
    SENT = "sent"
    FAILED = "failed"    # a permanent WeCom error, or retryable ones past the limit (error)


class ChurnAlert(CorpScoped, db.Model):
    __tablename__ = "churn_alert"
    __table_args__ = (UniqueConstraint("corp_id", "dedupe_key"),
                      Index("ix_churn_alert_status_recipient", "status", "corp_id", "recipient_userid"),
                      Index("ix_churn_alert_corp_created", "corp_id", "created_at"))
    kind: Mapped[str] = mapped_column(String(32))
    recipient_userid: Mapped[str] = mapped_column(String(64))
    about_userid: Mapped[str] = mapped_column(String(64))  # the member concerned (= recipient: their own)
    external_userid: Mapped[str | None] = mapped_column(String(64))
    relation_id: Mapped[int | None]
    day: Mapped[date | None] = mapped_column(Date)  # corp-local day of a digest or an anomaly
    data: Mapped[dict | None] = mapped_column(JSON)  # anomaly: direction, count, average, threshold
    # What makes the fact unique (a redelivered event or a second scheduler adds nothing).
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    msgid: Mapped[str | None] = mapped_column(String(128))  # message/send's msgid (shared by a batch)
    error: Mapped[str | None] = mapped_column(Text)


class ChurnDigestRun(DailyRun, db.Model):
    """The daily dormant digest of one corp and local day (claimed once: scrm/services/daily_runs.py)."""

    __tablename__ = "churn_digest_run"
    alerts: Mapped[int] = mapped_column(default=0)  # dormant alert rows created
