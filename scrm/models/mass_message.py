"""Mass messages to a segment (群发, issue #14 part 4): the message, one WeCom task per sender
(``add_msg_template``, chat_type single, ≤ 10,000 customers each), one row per recipient with what
became of it. The work is scrm/services/mass_messages; docs/mass-messages.md."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped


class MassMessageStatus(StrEnum):
    QUEUED = "queued"        # created; the build job picks the recipients
    SENDING = "sending"      # tasks created or being created in WeCom
    DONE = "done"            # every task settled (sent, given up or failed)
    FAILED = "failed"        # nothing could be sent (no recipients, WeCom refused)
    CANCELLED = "cancelled"  # cancelled before every task was created


class MassTaskStatus(StrEnum):
    PENDING = "pending"      # waiting to be created in WeCom
    RUNNING = "running"      # claimed by one job
    AWAITING = "awaiting"    # created: waiting for the sender to confirm it in WeCom
    SENT = "sent"            # the sender sent it; per-customer results read back
    NOT_SENT = "not_sent"    # never confirmed within 3 days (or the sender left)
    FAILED = "failed"        # WeCom refused to create it


class MassRecipientStatus(StrEnum):
    QUEUED = "queued"                  # in a task not created yet
    CAPPED = "capped"                  # over the monthly receive cap: not sent (reported)
    REFUSED = "refused"                # in add_msg_template's fail_list (not a friend any more, quota)
    WAITING = "waiting"                # task created, the sender has not sent it yet
    SENT = "sent"                      # WeCom delivered it (send status 1)
    NOT_FRIEND = "not_friend"          # send status 2
    QUOTA_EXCEEDED = "quota_exceeded"  # send status 3: already received another mass message
    NOT_SENT = "not_sent"              # the sender never sent the task, or it failed


class MassMessage(CorpScoped, db.Model):
    __tablename__ = "mass_message"
    __table_args__ = (Index("ix_mass_message_corp_created", "corp_id", "created_at"),)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)
    # who: {"segment_id": …} or {"filters": {...}} or {"external_userids": [...]}, as asked
    audience: Mapped[dict] = mapped_column(JSON)
    monthly_cap: Mapped[int]  # mass messages a customer may receive per corp-local month
    status: Mapped[str] = mapped_column(String(16), default=MassMessageStatus.QUEUED)
    created_by: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(default=0)
    capped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class MassMessageTask(CorpScoped, db.Model):
    """One add_msg_template task: one sender, up to 10,000 of the message's recipients."""

    __tablename__ = "mass_message_task"
    __table_args__ = (UniqueConstraint("mass_message_id", "sender", "chunk"),
                      Index("ix_mass_message_task_due", "status", "next_check_at"))
    mass_message_id: Mapped[int] = mapped_column(ForeignKey("mass_message.id"))
    sender: Mapped[str] = mapped_column(String(64))
    chunk: Mapped[int] = mapped_column(default=0)  # the sender's n-th task of this message
    recipients: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=MassTaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    msgid: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)  # in WeCom
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class MassMessageRecipient(CorpScoped, db.Model):
    __tablename__ = "mass_message_recipient"
    __table_args__ = (
        UniqueConstraint("mass_message_id", "external_userid"),
        Index("ix_mass_message_recipient_task", "task_id", "status"),
        # the monthly cap: what a customer received (or may still receive) this month
        Index("ix_mass_message_recipient_month", "corp_id", "external_userid", "month"),
    )
    mass_message_id: Mapped[int] = mapped_column(ForeignKey("mass_message.id"))
    task_id: Mapped[int | None]
    external_userid: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    month: Mapped[int]  # corp-local yyyymm of the message
    chunk: Mapped[int] = mapped_column(default=0)  # which of the sender's tasks (10,000 each)
    status: Mapped[str] = mapped_column(String(16), default=MassRecipientStatus.QUEUED)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
