"""Customer SOPs (客户SOP): a sequence of steps, one enrollment per matching relation, and one
task row per (enrollment, step) with its ``due_at``; a sweep turns due tasks into jobs."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class SopStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"    # due tasks wait; on resume they run unless they went stale meanwhile
    DELETED = "deleted"  # pending tasks cancelled


class Sop(CorpScoped, Timestamped, db.Model):
    __tablename__ = "sop"
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SopStatus.ACTIVE)
    # {"channel_ids": [...], "tag_ids": [...], "userids": [...]}: each list, when non-empty, must
    # match (any of its items); all lists must match.
    conditions: Mapped[dict] = mapped_column(JSON)


class SopStep(CorpScoped, Timestamped, db.Model):
    __tablename__ = "sop_step"
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"), index=True)
    position: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(64))
    # When: anchor "added" (the add) or "date" (a CustomerDate named date_key); then either
    # delay_minutes after the anchor, or day_offset days after the anchor's local date at at_time.
    anchor: Mapped[str] = mapped_column(String(16))
    date_key: Mapped[str | None] = mapped_column(String(32))
    yearly: Mapped[bool] = mapped_column(default=False)  # date anchors: next anniversary
    delay_minutes: Mapped[int | None]
    day_offset: Mapped[int | None]
    at_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", corp-local time
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)
    delivery: Mapped[str] = mapped_column(String(16))  # mass_send | reminder
    deleted: Mapped[bool] = mapped_column(default=False)


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"      # the relation was lost or no longer matches; stop_reason says which
    COMPLETED = "completed"  # no step left to run


class SopEnrollment(CorpScoped, db.Model):
    __tablename__ = "sop_enrollment"
    __table_args__ = (UniqueConstraint("sop_id", "userid", "external_userid"),
                      Index("ix_sop_enrollment_customer", "corp_id", "external_userid"))
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime)  # the anchor of "added" steps
    status: Mapped[str] = mapped_column(String(16), default=EnrollmentStatus.ACTIVE)
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"      # claimed by one job (UPDATE ... WHERE status='pending')
    AWAITING = "awaiting"    # mass-send task created; waiting for the staff member to send it
    SENT = "sent"            # delivered (mass send confirmed) or reminder card sent
    FAILED = "failed"
    SKIPPED = "skipped"      # lost / no longer matching / stale / date passed
    CANCELLED = "cancelled"  # step deleted, SOP deleted


class SopTask(CorpScoped, db.Model):
    """One step for one customer relation."""

    __tablename__ = "sop_task"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id"),
                      Index("ix_sop_task_due", "status", "due_at"),
                      Index("ix_sop_task_check", "status", "next_check_at"),
                      # A customer's (relation's) tasks: the sidebar's pending SOP reminders.
                      Index("ix_sop_task_relation", "corp_id", "external_userid", "userid"))
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"))
    step_id: Mapped[int] = mapped_column(ForeignKey("sop_step.id"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("sop_enrollment.id"), index=True)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    delivery: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    content: Mapped[dict | None] = mapped_column(JSON)  # what was sent (rendered)
    msgid: Mapped[str | None] = mapped_column(String(128))  # add_msg_template
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(32))  # WeCom send result, e.g. not_friend
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # reminder delivery: when the staff member sent the step's content from the sidebar (once)
    sent_from_sidebar_at: Mapped[datetime | None] = mapped_column(DateTime)


class CustomerDate(CorpScoped, Timestamped, db.Model):
    """A date on a customer (birthday, contract end, ...) that SOP steps can be anchored to."""

    __tablename__ = "customer_date"
    __table_args__ = (UniqueConstraint("corp_id", "external_userid", "key"),)
    external_userid: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(32))
    value: Mapped[date] = mapped_column(Date)
