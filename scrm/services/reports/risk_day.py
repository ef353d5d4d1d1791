"""The churn report's stocks (risk_daily_stat): each member's relations at each risk level at the
end of each corp-local day, in set-based SQL (as staff_day.py's stocks).

relation_risk keeps one row per relation with its last change (`previous_level` → `level` at
`level_changed_at`): a relation is at `level` from that time and at `previous_level` before it
(nowhere before its first level). The stock at the end of a day is the base before the chunk
plus the running sum of +1 where a relation enters a level and -1 where it leaves the one
before (a window function over the grid of days × members). The base is the rows of the day
before when they exist (the nightly run's today, today's refresh, every chunk after a rebuild's
first: only the rows changed in the window are read, through ix_relation_risk_changed), else
counted from relation_risk (a rebuild). A member with nothing at any level has no row.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import RiskDailyStat, Staff
from scrm.models.churn_report import RISK_LEVELS, RISK_STOCKS
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight
from scrm.services.reports.churn_day import risk_rows

CHUNK_DAYS = 31
DELTAS = tuple(f"d_{name}" for name in RISK_STOCKS)


def _moves(risk, start, end):
    """(userid, at, d_risk_<level>…): +1 into the level, -1 out of the one before."""
    changed = and_(risk.c.changed_at >= start, risk.c.changed_at < end)

    def branch(column, value, *where):
        return (select(risk.c.userid.label("userid"), risk.c.changed_at.label("at"),
                       *(case((column == level, literal(value, Integer)), else_=0).label(f"d_risk_{level}")
                         for level in RISK_LEVELS))
                .select_from(risk).where(changed, *where))
    return union_all(branch(risk.c.level, 1), branch(risk.c.previous_level, -1,
                                                     risk.c.previous_level.is_not(None))).subquery("moves")


def _base_from_sources(at, risk):
    held = case((risk.c.changed_at < at, risk.c.level), else_=risk.c.previous_level)
    return (select(risk.c.userid, *(func.sum(case((held == level, 1), else_=0)).label(f"risk_{level}")
                                    for level in RISK_LEVELS))
            .group_by(risk.c.userid).subquery("base"))


def _base_from_aggregate(corp_id: str, day: date):
    s = RiskDailyStat
    return (select(s.userid.label("userid"), *(getattr(s, n).label(n) for n in RISK_STOCKS))
            .where(s.corp_id == corp_id, s.day == day).subquery("base"))


def has_rows(corp_id: str, day: date) -> bool:
    return bool(db.session.scalar(select(exists().where(RiskDailyStat.corp_id == corp_id, RiskDailyStat.day == day))))


def _insert(corp_id: str, first: date, last: date, *, from_aggregate: bool):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    e = _moves(risk_rows(corp_id, (start, end) if from_aggregate else None, channel=False), start, end)
    per_day = (select(days.c.day, e.c.userid, *(func.sum(e.c[n]).label(n) for n in DELTAS))
               .select_from(days).join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
               .group_by(days.c.day, e.c.userid).subquery("per_day"))
    base = (_base_from_aggregate(corp_id, first - timedelta(days=1)) if from_aggregate
            else _base_from_sources(start, risk_rows(corp_id, None, "risk_all", channel=False)))
    members = union_all(select(base.c.userid), select(per_day.c.userid)).subquery("m")
    members = select(members.c.userid).distinct().subquery("members")
    s = Staff
    grid = (select(days.c.day, members.c.userid, s.main_department.label("department_id"),
                   *(func.coalesce(per_day.c[n], 0).label(n) for n in DELTAS),
                   *(func.coalesce(base.c[n], 0).label(f"b_{n}") for n in RISK_STOCKS))
            .select_from(days).join(members, true())
            .outerjoin(per_day, and_(per_day.c.day == days.c.day, per_day.c.userid == members.c.userid))
            .outerjoin(base, base.c.userid == members.c.userid)
            .outerjoin(s, and_(s.corp_id == corp_id, s.userid == members.c.userid))
            .subquery("grid"))
    stocks = [(grid.c[f"b_{n}"] + func.sum(grid.c[f"d_{n}"]).over(
        partition_by=grid.c.userid, order_by=grid.c.day, rows=(None, 0))).label(n) for n in RISK_STOCKS]
    rows = select(grid.c.day, grid.c.userid, grid.c.department_id, *stocks).subquery("rows")
    query = (select(literal(corp_id, String).label("corp_id"), rows.c.day, rows.c.userid, rows.c.department_id,
                    *(rows.c[n] for n in RISK_STOCKS), literal(utcnow(), DateTime).label("computed_at"))
             .where(or_(*(rows.c[n] != 0 for n in RISK_STOCKS))))
    columns = ["corp_id", "day", "userid", "department_id", *RISK_STOCKS, "computed_at"]
    return insert(RiskDailyStat).from_select(columns, query)


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last (delete, then insert … select; idempotent).
    Returns the rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    from_aggregate = incremental and has_rows(corp_id, first - timedelta(days=1))
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(RiskDailyStat).where(
            RiskDailyStat.corp_id == corp_id, RiskDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last, from_aggregate=from_aggregate))
        from_aggregate = True  # the next chunk starts from this one's last day (no row: nothing at risk)
    return db.session.scalar(select(func.count()).select_from(RiskDailyStat).where(
        RiskDailyStat.corp_id == corp_id, RiskDailyStat.day.between(first, last))) or 0
