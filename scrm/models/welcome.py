"""Welcome messages: one row per add event that carried a WelcomeCode."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped


class WelcomeStatus(StrEnum):
    SENDING = "sending"  # a worker is calling WeCom (a crash here is never retried: never twice)
    RETRYING = "retrying"  # a retryable error; another attempt is scheduled inside the window
    SENT = "sent"
    TOO_LATE = "too_late"  # 41050, or the 20 s window passed before we could try
    ALREADY_CHATTING = "already_chatting"  # 41051: WeCom says it was delivered already
    FAILED = "failed"


class WelcomeMessage(CorpScoped, db.Model):
    __tablename__ = "welcome_message"
    event_id: Mapped[int] = mapped_column(unique=True)  # the inbox row of the add
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    errcode: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    content: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime)  # callback receipt
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)  # WeCom's final answer
    latency_ms: Mapped[int | None]  # receipt → WeCom's answer
