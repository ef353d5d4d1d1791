"""The churn report's flows (churn_daily_stat), in set-based SQL, written like staff_day.py.

Per corp-local day, staff member and channel code (`follow_relation.state`, "" without one), one
INSERT … SELECT per chunk of days: a UNION ALL of the events joined to the small table of days
and summed with GROUP BY (no per-row Python):

* losses: relations ended that day by the member, by the customer, or found gone by a sync
  (`follow_relation.status` + `status_changed_at`, as staff_daily_stat);
* risk-level moves: relations whose level changed that day into each level
  (`relation_risk.level` + `level_changed_at`; a relation's first level, `previous_level` NULL,
  is not a move), with the relation's channel code.

Only (day, member, channel) groups with an event get a row, so a year of rows is small. The
stocks per level are risk_day.py's. relation_risk keeps each relation's last change: a rebuild
sees that one; the rows written as days pass keep every change.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, Integer, String, and_, case, delete, func, insert, literal, select, union_all

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import ChurnDailyStat, ChurnMonthStat, FollowRelation, RelationRisk, Staff
from scrm.models.churn_report import CHURN_FLOWS, RISK_LEVELS
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight
from scrm.services.reports import staff_month
from scrm.sqlfunc import month_start

CHUNK_DAYS = 31
LOSSES = {"deleted_by_staff": "lost_by_staff", "deleted_by_customer": "lost_by_customer",
          "deleted_unknown": "lost_other"}


def _state(column):
    return func.coalesce(column, literal("", String))


def risk_rows(corp_id: str, window: tuple[datetime, datetime] | None, name: str = "risk", *, channel: bool = True):
    """relation_risk rows, with ``channel`` the relation's channel code (a left join on the
    relation's id); with ``window``, only those changed in it (through ix_relation_risk_changed)."""
    r, fr = RelationRisk, FollowRelation
    narrowed = [r.level_changed_at >= window[0], r.level_changed_at < window[1]] if window else []
    query = (select(r.userid.label("userid"), *([_state(fr.state).label("state")] if channel else []),
                    r.level.label("level"), r.previous_level.label("previous_level"),
                    r.level_changed_at.label("changed_at"))
             .where(r.corp_id == corp_id, r.level.is_not(None), *narrowed))
    if channel:
        query = query.select_from(r).outerjoin(fr, fr.id == r.relation_id)
    return query.cte(name)


def _branch(userid, state, at, where, source, **values):
    zero = literal(0, Integer)
    cols = [values[n].label(n) if n in values else zero.label(n) for n in CHURN_FLOWS]
    return select(userid.label("userid"), state.label("state"), at.label("at"), *cols).select_from(source).where(*where)


def _events(corp_id: str, start: datetime, end: datetime):
    fr = FollowRelation
    ended = case((fr.status != "active", func.coalesce(fr.status_changed_at, fr.updated_at)),
                 else_=literal(None, DateTime))
    lost = _branch(fr.userid, _state(fr.state), ended,
                   [fr.corp_id == corp_id, fr.status.in_(tuple(LOSSES)), ended >= start, ended < end], fr,
                   **{column: case((fr.status == status, 1), else_=0) for status, column in LOSSES.items()})
    risk = risk_rows(corp_id, (start, end))
    moved = _branch(risk.c.userid, risk.c.state, risk.c.changed_at, [risk.c.previous_level.is_not(None)], risk,
                    **{f"entered_{level}": case((risk.c.level == level, 1), else_=0) for level in RISK_LEVELS})
    return union_all(lost, moved).subquery("events")


def _insert(corp_id: str, first: date, last: date):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    e = _events(corp_id, start, end)
    per_day = (select(days.c.day, e.c.userid, e.c.state, *(func.sum(e.c[n]).label(n) for n in CHURN_FLOWS))
               .select_from(days).join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
               .group_by(days.c.day, e.c.userid, e.c.state).subquery("per_day"))
    s = Staff
    query = (select(literal(corp_id, String).label("corp_id"), per_day.c.day, month_start(per_day.c.day).label("month"),
                    per_day.c.userid, per_day.c.state,
                    s.main_department.label("department_id"), *(per_day.c[n] for n in CHURN_FLOWS),
                    literal(utcnow(), DateTime).label("computed_at"))
             .select_from(per_day).outerjoin(s, and_(s.corp_id == corp_id, s.userid == per_day.c.userid)))
    columns = ["corp_id", "day", "month", "userid", "state", "department_id", *CHURN_FLOWS, "computed_at"]
    return insert(ChurnDailyStat).from_select(columns, query)


def month_start_of(day: date) -> date:
    return day.replace(day=1)


def _roll_up_months(corp_id: str, first_month: date, last_month: date) -> None:
    """churn_month_stat of the months first_month..last_month from their daily rows (delete, then
    one insert … select grouped by month, member, channel code and department)."""
    d, m = ChurnDailyStat, ChurnMonthStat
    db.session.execute(delete(m).where(m.corp_id == corp_id, m.month.between(first_month, last_month)),
                       execution_options={"synchronize_session": False})
    keys = (d.month, d.userid, d.state, d.department_id)
    db.session.execute(insert(m).from_select(
        ["corp_id", "month", "userid", "state", "department_id", *CHURN_FLOWS],
        select(literal(corp_id, String).label("corp_id"), *keys, *(func.sum(getattr(d, n)) for n in CHURN_FLOWS))
        .where(d.corp_id == corp_id, d.day.between(first_month, staff_month.month_end(last_month)))
        .group_by(*keys)))


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last (delete, then insert … select; idempotent).
    Returns the rows written; the caller commits. ``incremental`` changes nothing (no stocks)."""
    if last < first:
        raise ValueError("the last day is before the first")
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(ChurnDailyStat).where(
            ChurnDailyStat.corp_id == corp_id, ChurnDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last))
    _roll_up_months(corp_id, month_start_of(first), month_start_of(last))
    return db.session.scalar(select(func.count()).select_from(ChurnDailyStat).where(
        ChurnDailyStat.corp_id == corp_id, ChurnDailyStat.day.between(first, last))) or 0
