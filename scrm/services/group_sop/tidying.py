"""The group SOP sweep's set-based state changes: executions closed in bulk (a step removed, a
plan deleted, a group dismissed, a member who left), runs whose worker died, reminders the owner
never sent. tidy() runs at most every TIDY_EVERY whatever the number of schedulers (a Redis mark)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, update

from scrm.extensions import db
from scrm.models import ExecutionStatus, GroupChat, GroupChatStatus, GroupMember, GroupSopExecution
from scrm.queueing import redis_connection

INTERRUPTED_AFTER = timedelta(minutes=10)
TIDY_EVERY = timedelta(minutes=10)    # closing executions of dismissed groups / members who left
REMINDER_GIVE_UP = timedelta(days=3)  # a reminder the owner never sent from the sidebar


def close_executions(condition, status: ExecutionStatus, result: str, error: str | None, now: datetime) -> None:
    db.session.execute(update(GroupSopExecution).where(condition, GroupSopExecution.status == ExecutionStatus.PENDING)
                       .values(status=status, result=result, error=error, finished_at=now))


TIDIED_KEY = "scrm:group-sop:tidied-at"  # the sweep's `now` at the last tidy (shared by the workers)


def tidy(now: datetime) -> None:
    """Set-based state changes, every TIDY_EVERY: interrupted runs, dismissed groups and members
    who left (delivery checks those again anyway), reminders never sent."""
    last = redis_connection().get(TIDIED_KEY)
    if last is not None and timedelta(0) <= now - datetime.fromisoformat(last.decode()) < TIDY_EVERY:
        return
    redis_connection().set(TIDIED_KEY, now.isoformat())
    E = GroupSopExecution  # noqa: N806
    db.session.execute(update(E).where(E.status == ExecutionStatus.RUNNING, E.started_at < now - INTERRUPTED_AFTER)
                       .values(status=ExecutionStatus.FAILED, result="error", finished_at=now,
                               error="interrupted (never retried: an execution runs at most once)"))
    _close_gone(now)
    db.session.execute(update(E).where(E.status == ExecutionStatus.AWAITING, E.delivery == "reminder",
                                       E.started_at < now - REMINDER_GIVE_UP)
                       .values(status=ExecutionStatus.FAILED, result="not_sent", finished_at=now,
                               error="the owner never sent it from the sidebar"))
    db.session.commit()


def _close_gone(now: datetime) -> None:
    E = GroupSopExecution  # noqa: N806
    close_executions(exists().where(GroupChat.corp_id == E.corp_id, GroupChat.chat_id == E.chat_id,
                                    GroupChat.status == GroupChatStatus.DISMISSED),
                     ExecutionStatus.SKIPPED, "dismissed", "the group was dismissed", now)
    close_executions(and_(E.member_id != "", exists().where(
        GroupMember.corp_id == E.corp_id, GroupMember.chat_id == E.chat_id, GroupMember.member_id == E.member_id,
        GroupMember.quit_time.is_not(None))), ExecutionStatus.SKIPPED, "member_left", "the member left the group", now)
