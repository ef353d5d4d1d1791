"""The groups report's SOP aggregate (group_sop_daily_stat), in set-based SQL.

Per corp-local day, plan and group owner: the executions that fell due that day (``due_at``)
by outcome, counted by one INSERT … SELECT per chunk of days (executions joined to a small table
of days, grouped by day, plan and owner) after deleting the chunk's rows — idempotent.

An execution's outcome settles after it falls due (a mass send waits for the owner up to 3 days,
a reminder is given up after 3 days), so a full build (the nightly run, a rebuild) always
recomputes at least the last SETTLE_DAYS days up to its last day; today's refresh
(``incremental``) rewrites only the days asked for. The owner is the one the execution ran for
(``group_sop_execution.owner``), else the group's current owner, else ''.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import DateTime, String, and_, case, delete, func, insert, literal, literal_column, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import ExecutionStatus, GroupChat, GroupSopDailyStat, GroupSopExecution
from scrm.models.group_report import GROUP_SOP_FIGURES
from scrm.services.group_stats.aggregate import CHUNK_DAYS, _dates, _day_table, _spans

SETTLE_DAYS = 7
WAITING = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.AWAITING)


def build(corp_id: str, first: date, last: date, *, incremental: bool) -> int:
    """Rows of local days first..last (a full build from last - SETTLE_DAYS + 1 at the latest);
    returns the rows written. The caller commits."""
    if not incremental:
        first = min(first, last - timedelta(days=SETTLE_DAYS - 1))
    s = GroupSopDailyStat
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(s).where(s.corp_id == corp_id, s.day.between(chunk_first, chunk_last)))
        days = _day_table([(d, d) for d in _dates(chunk_first, chunk_last)])
        db.session.execute(_insert(corp_id, days))
    return db.session.scalar(select(func.count()).select_from(s).where(
        s.corp_id == corp_id, s.day.between(first, last))) or 0


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _insert(corp_id: str, days):
    e, g = GroupSopExecution, GroupChat
    failed = e.status == ExecutionStatus.FAILED
    skipped = e.status == ExecutionStatus.SKIPPED
    capped = and_(skipped, e.result == "monthly_cap")
    figures = {
        "executions": func.count(e.id),
        "sent": _count(e.status == ExecutionStatus.SENT),
        "waiting": _count(e.status.in_(WAITING)),
        "failed": _count(failed),
        "failed_not_sent": _count(and_(failed, e.result == "not_sent")),
        "failed_already_received": _count(and_(failed, e.result == "already_received")),
        "capped": _count(capped),
        "skipped": _count(and_(skipped, func.coalesce(e.result, "") != "monthly_cap")),
    }
    owner = func.coalesce(e.owner, g.owner, literal_column("''"))
    query = (select(literal(corp_id, String).label("corp_id"), days.c.day, e.plan_id, owner.label("owner"),
                    *(value.label(name) for name, value in figures.items()),
                    literal(utcnow(), DateTime).label("computed_at"))
             .select_from(days)
             .join(e, and_(e.corp_id == corp_id, e.due_at >= days.c.start_at, e.due_at < days.c.end_at,
                           e.status != ExecutionStatus.CANCELLED))
             .outerjoin(g, and_(g.corp_id == e.corp_id, g.chat_id == e.chat_id))
             .group_by(days.c.day, e.plan_id, owner))
    columns = ["corp_id", "day", "plan_id", "owner", *GROUP_SOP_FIGURES, "computed_at"]
    return insert(GroupSopDailyStat).from_select(columns, query)
