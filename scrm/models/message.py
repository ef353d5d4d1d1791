"""Messages received by the app, and the chat-archive cursor and records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped


class AppMessage(CorpScoped, db.Model):
    """A message or app event (enter_agent, ...) a staff member sent to our app."""

    __tablename__ = "app_message"
    __table_args__ = (UniqueConstraint("corp_id", "event_id"),)
    event_id: Mapped[int]  # the inbox row it came from
    agent_id: Mapped[int | None]
    msg_id: Mapped[str | None] = mapped_column(String(64))
    from_userid: Mapped[str | None] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))  # text, image, ..., event:enter_agent
    content: Mapped[dict | None] = mapped_column(JSON)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ArchiveCursor(db.Model):
    """Chat-archive pull position per corp (the largest seq stored)."""

    __tablename__ = "archive_cursor"
    corp_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_pulled_at: Mapped[datetime | None] = mapped_column(DateTime)


class ArchivedMessage(CorpScoped, db.Model):
    __tablename__ = "archived_message"
    __table_args__ = (UniqueConstraint("corp_id", "msgid"),
                      Index("ix_archived_message_time", "corp_id", "msgtime"))
    seq: Mapped[int] = mapped_column(BigInteger)
    msgid: Mapped[str] = mapped_column(String(128))
    action: Mapped[str | None] = mapped_column(String(16))
    from_id: Mapped[str | None] = mapped_column(String(64))
    roomid: Mapped[str | None] = mapped_column(String(64))
    msgtype: Mapped[str | None] = mapped_column(String(32))
    msgtime: Mapped[datetime | None] = mapped_column(DateTime)
    # A 1:1 message's other party (its single `tolist` entry); None for groups: the churn signals
    # (scrm/services/churn/signals.py) join on (from_id, peer_id).
    peer_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict | None] = mapped_column(JSON)
