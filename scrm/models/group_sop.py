"""Group SOPs (群SOP): a plan sends content to customer groups on a schedule, as a WeCom group
mass send the owner confirms or as a reminder the owner sends from the sidebar in one tap.

A plan (``GroupSop``) has targets (evaluated at each planning run, so new groups join), a
schedule and one step (fixed schedules: once, daily, weekly, monthly) or a series of steps
relative to an event (group created, member joined). Executions (``GroupSopExecution``) are
rows with their ``due_at``, one per (plan, step, group, member, due_at): created ahead by the
``group-sop`` sweep with INSERT ... SELECT ... ON CONFLICT DO NOTHING, so two schedulers create
each one once; a job claims them with ``UPDATE ... WHERE status='pending'``, so each runs once."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class GroupSopStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"    # due executions wait; on resume those more than 24 h late are skipped
    DELETED = "deleted"  # pending executions cancelled


class ScheduleKind(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    GROUP_CREATED = "group_created"  # each step N minutes / days after the group was created
    MEMBER_JOINED = "member_joined"  # the new-member series: each step after a member joined

    @property
    def relative(self) -> bool:
        return self in (ScheduleKind.GROUP_CREATED, ScheduleKind.MEMBER_JOINED)


class GroupSop(CorpScoped, Timestamped, db.Model):
    __tablename__ = "group_sop"
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=GroupSopStatus.ACTIVE)
    # {"owners": [...], "name_contains": str|None, "label_ids": [...], "group_code_ids": [...],
    #  "chat_ids": [...]}: a group matches when every non-empty filter holds (owners, name,
    # labels, codes), or when it is listed in chat_ids.
    targets: Mapped[dict] = mapped_column(JSON)
    # {"kind": ScheduleKind, "at": "YYYY-MM-DDTHH:MM" (once), "at_time": "HH:MM",
    #  "weekdays": [1..7] (weekly, 1 = Monday), "month_days": [1..31] (monthly; past the month's
    #  end = its last day), "start_date"/"end_date": "YYYY-MM-DD" (recurring, optional)}
    schedule: Mapped[dict] = mapped_column(JSON)
    delivery: Mapped[str] = mapped_column(String(16))  # mass_send | reminder
    # Relative kinds apply to groups created / members joined from this instant on.
    starts_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    planned_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last planning run
    # A random token, new whenever the plan is written through the ORM (authoring: every edit,
    # pause, resume, delete; a step edit always writes the plan too): the sweep keeps the plans'
    # definitions in process between runs, keyed by (id, revision). Core UPDATEs of planned_at
    # keep it (the sweep reads planned_at itself).
    revision: Mapped[str] = mapped_column(String(16), default=lambda: new_revision(), server_default="")


def new_revision() -> str:
    return secrets.token_hex(8)


@event.listens_for(GroupSop, "before_update")
def _new_revision(mapper, connection, plan: GroupSop) -> None:  # noqa: ARG001 - the event's signature
    plan.revision = new_revision()


class GroupSopStep(CorpScoped, Timestamped, db.Model):
    __tablename__ = "group_sop_step"
    plan_id: Mapped[int] = mapped_column(ForeignKey("group_sop.id"), index=True)
    position: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(64))
    # Relative kinds only: delay_minutes after the event, or day_offset days after the event's
    # local date at at_time. Fixed kinds take their time from the plan's schedule.
    delay_minutes: Mapped[int | None]
    day_offset: Mapped[int | None]
    at_time: Mapped[str | None] = mapped_column(String(5))
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(default=False)


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"      # claimed by one job
    AWAITING = "awaiting"    # mass-send task created / reminder sent: waiting for the owner
    SENT = "sent"            # the owner sent it (mass send confirmed and delivered, or one-tap send)
    FAILED = "failed"        # reason in ``result`` / ``error``
    SKIPPED = "skipped"      # group dismissed, no longer a target, member left, stale, monthly cap
    CANCELLED = "cancelled"  # plan deleted


OPEN_STATUSES = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.AWAITING)


class GroupSopExecution(CorpScoped, db.Model):
    """One step of one plan for one group at one time (and, in the new-member series, for one
    member: ``member_id``; '' otherwise)."""

    __tablename__ = "group_sop_execution"
    __table_args__ = (UniqueConstraint("plan_id", "step_id", "chat_id", "member_id", "due_at"),
                      Index("ix_group_sop_execution_due", "status", "due_at"),
                      Index("ix_group_sop_execution_check", "status", "next_check_at"),
                      Index("ix_group_sop_execution_chat", "corp_id", "chat_id", "due_at"),
                      Index("ix_group_sop_execution_msgid", "msgid"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("group_sop.id"))
    step_id: Mapped[int] = mapped_column(ForeignKey("group_sop_step.id"), index=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(String(64), default="")
    owner: Mapped[str | None] = mapped_column(String(64))  # the group's owner when it ran (the sender)
    delivery: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=ExecutionStatus.PENDING)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)  # last enqueued (the sweep re-sends after a while)
    attempts: Mapped[int] = mapped_column(default=0)
    content: Mapped[dict | None] = mapped_column(JSON)  # what was sent (rendered)
    msgid: Mapped[str | None] = mapped_column(String(128))  # add_msg_template
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    # sent | not_sent | already_received (WeCom status 3) | not_owner (status 2: dismissed or
    # the sender is no longer the owner) | owner_left | dismissed | monthly_cap | member_left |
    # no_longer_target | stale | reminded | error
    result: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
