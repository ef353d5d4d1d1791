"""Welcome messages: one row per add event that carried a WelcomeCode; welcome templates."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


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
    template_id: Mapped[int | None]  # the template rendered (None: the built-in text)
    channel_id: Mapped[int | None]  # the channel whose state came with the add


class WelcomeTemplate(CorpScoped, Timestamped, db.Model):
    """Text with placeholders ({nickname}, {staff_name}) plus up to 9 attachments.

    Chosen per add: the channel's template, else the staff member's (WelcomeTemplateStaff),
    else the corp default (is_default). ``variants`` are time-of-day alternatives:
    [{"name", "start": "HH:MM", "end": "HH:MM", "weekdays": [1..7] | null, "text", "attachments"}],
    corp-local time, a range may wrap midnight; the first that matches wins.
    """

    __tablename__ = "welcome_template"
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)  # our form: media by MediaAsset id
    variants: Mapped[list] = mapped_column(JSON)
    nickname_fallback: Mapped[str] = mapped_column(String(32), default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)


class WelcomeTemplateStaff(CorpScoped, db.Model):
    """A staff member's own template (one per staff member)."""

    __tablename__ = "welcome_template_staff"
    __table_args__ = (UniqueConstraint("corp_id", "userid"),)
    template_id: Mapped[int] = mapped_column(ForeignKey("welcome_template.id"), index=True)
    userid: Mapped[str] = mapped_column(String(64))
