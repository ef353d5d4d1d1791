"""The morning digest (issue #15, part 8): an app message (`message/send` template card) to each
manager with yesterday's key figures of their team, and to each staff member with their own
overdue follow-ups. One DigestRun per corp and local day plans the messages (once, however many
schedulers tick or restart); one DigestMessage per recipient, kind and day is sent exactly once
(scrm/services/digest)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, DailyRun


class DigestKind(StrEnum):
    MANAGER = "manager"  # yesterday's figures of the members the manager's data scope covers
    STAFF = "staff"      # the member's own next follow-ups now overdue


class DigestStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one sweep (claim_token)
    SENT = "sent"
    FAILED = "failed"


class DigestRun(DailyRun, db.Model):
    """The digest of one corp and local day (claimed once: scrm/services/daily_runs.py)."""

    __tablename__ = "digest_run"
    messages: Mapped[int] = mapped_column(default=0)  # DigestMessage rows planned


class DigestMessage(CorpScoped, db.Model):
    __tablename__ = "digest_message"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid", "kind"),
                      Index("ix_digest_message_status", "status", "next_attempt_at"))
    day: Mapped[date] = mapped_column(Date)  # the local day the digest is sent on (figures: the day before)
    userid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON)  # the figures / customers the card shows (scrm/services/digest/cards.py)
    status: Mapped[str] = mapped_column(String(16), default=DigestStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    msgid: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
