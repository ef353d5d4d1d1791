"""The callback inbox: every decrypted callback, stored once before it is acknowledged."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db


class EventStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    IGNORED = "ignored"


class CallbackEvent(db.Model):
    __tablename__ = "callback_event"
    __table_args__ = (Index("ix_callback_event_status", "status", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str | None] = mapped_column(String(64))  # Event, or MsgType for messages
    change_type: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the decrypted plaintext XML
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The claim: a worker holds the row until locked_until (a lease it renews while it works;
    # after a retryable failure, the retry time), under its claim token claimed_by (None once
    # released). An expired lease with a token means the holder died: the sweep re-enqueues.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
