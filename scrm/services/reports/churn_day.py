"""The churn report's aggregate (churn_daily_stat), in set-based SQL, written like staff_day.py.

Per corp-local day, staff member and channel code (`follow_relation.state`, "" without one), in
one INSERT … SELECT per chunk of days:

* flows: relations ended that day (by the member, by the customer, found gone by a sync:
  `follow_relation.status` + `status_changed_at`), and risk-level moves (`relation_risk.level`
  + `level_changed_at`; a relation's first level, `previous_level` NULL, is not a move), counted
  by a GROUP BY over a UNION ALL joined to the small table of days;
* stocks: relations per risk level at the end of the day, the base before the chunk plus the
  running sum of +1 where a relation enters a level and -1 where it leaves it.

relation_risk keeps one row per relation with its last change (`previous_level` → `level` at
`level_changed_at`): a relation is at `level` from that time, and at `previous_level` before it.
The base is read from the rows of the day before when they exist (the nightly run's today,
today's refresh, every chunk after a rebuild's first), else counted from relation_risk (a
rebuild). A rebuild sees each relation's last change only (as the follow-up report sees a
relation's last life); the rows written as days pass keep every change.

Rows are sparse: a (member, channel) pair gets a row on a day only when a stock or a flow of it
is not zero, so a day has about as many rows as pairs holding relations at risk.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

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
from scrm.models import ChurnDailyStat, FollowRelation, RelationRisk, Staff
from scrm.models.churn_report import CHURN_FLOWS, CHURN_STOCKS, RISK_LEVELS
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight

CHUNK_DAYS = 31
LOSSES = {"deleted_by_staff": "lost_by_staff", "deleted_by_customer": "lost_by_customer",
          "deleted_unknown": "lost_other"}
DELTAS = tuple(f"d_{name}" for name in CHURN_STOCKS)
COLUMNS = (*CHURN_FLOWS, *DELTAS)


def _state(column):
    return func.coalesce(column, literal("", String))


def _branch(userid, state, at, where, source, **values):
    zero = literal(0, Integer)
    cols = [values[name].label(name) if name in values else zero.label(name) for name in COLUMNS]
    return select(userid.label("userid"), state.label("state"), at.label("at"), *cols).select_from(source).where(*where)


def _per_level(column, value: int, prefix: str) -> dict:
    """{prefix_<level>: value where column is that level, else 0} for every level."""
    return {f"{prefix}{level}": case((column == level, value), else_=0) for level in RISK_LEVELS}


def _risk(corp_id: str, window: tuple[datetime, datetime] | None):
    """relation_risk rows with the relation's channel code (a left join on the relation's id);
    with ``window``, only those changed in it (through ix_relation_risk_changed)."""
    r, fr = RelationRisk, FollowRelation
    narrowed = [r.level_changed_at >= window[0], r.level_changed_at < window[1]] if window else []
    return (select(r.userid.label("userid"), _state(fr.state).label("state"), r.level.label("level"),
                   r.previous_level.label("previous_level"), r.level_changed_at.label("changed_at"))
            .select_from(r).outerjoin(fr, fr.id == r.relation_id)
            .where(r.corp_id == corp_id, r.level.is_not(None), *narrowed)
            .cte("risk"))


def _events(corp_id: str, start: datetime, end: datetime, risk):
    fr = FollowRelation
    ended = case((fr.status != "active", func.coalesce(fr.status_changed_at, fr.updated_at)),
                 else_=literal(None, DateTime))
    branches = [_branch(fr.userid, _state(fr.state), ended,
                        [fr.corp_id == corp_id, fr.status.in_(tuple(LOSSES)), ended >= start, ended < end], fr,
                        **{column: case((fr.status == status, 1), else_=0) for status, column in LOSSES.items()})]
    changed = and_(risk.c.changed_at >= start, risk.c.changed_at < end)
    moved = risk.c.previous_level.is_not(None)
    # into the level (a move when there was a level before), and out of the one before
    branches.append(_branch(risk.c.userid, risk.c.state, risk.c.changed_at, [changed], risk,
                            **_per_level(risk.c.level, 1, "d_risk_"),
                            **{f"entered_{level}": case((and_(moved, risk.c.level == level), 1), else_=0)
                               for level in RISK_LEVELS}))
    branches.append(_branch(risk.c.userid, risk.c.state, risk.c.changed_at, [changed, moved], risk,
                            **_per_level(risk.c.previous_level, -1, "d_risk_")))
    return union_all(*branches).subquery("events")


def _base_from_sources(at: datetime, risk):
    """Each (member, channel)'s relations per level at ``at``: the level when it was reached
    before ``at``, else the level before the change."""
    held = case((risk.c.changed_at < at, risk.c.level), else_=risk.c.previous_level)
    return (select(risk.c.userid, risk.c.state,
                   *(func.sum(case((held == level, 1), else_=0)).label(f"risk_{level}") for level in RISK_LEVELS))
            .group_by(risk.c.userid, risk.c.state).subquery("base"))


def _base_from_aggregate(corp_id: str, day: date):
    s = ChurnDailyStat
    return (select(s.userid.label("userid"), s.state.label("state"), *(getattr(s, n).label(n) for n in CHURN_STOCKS))
            .where(s.corp_id == corp_id, s.day == day).subquery("base"))


def has_rows(corp_id: str, day: date) -> bool:
    return bool(db.session.scalar(select(exists().where(ChurnDailyStat.corp_id == corp_id,
                                                        ChurnDailyStat.day == day))))


def _insert(corp_id: str, first: date, last: date, *, from_aggregate: bool):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    risk = _risk(corp_id, (start, end) if from_aggregate else None)
    e = _events(corp_id, start, end, risk)
    per_day = (select(days.c.day, e.c.userid, e.c.state, *(func.sum(e.c[name]).label(name) for name in COLUMNS))
               .select_from(days).join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
               .group_by(days.c.day, e.c.userid, e.c.state).subquery("per_day"))
    base = (_base_from_aggregate(corp_id, first - timedelta(days=1)) if from_aggregate
            else _base_from_sources(start, risk))
    pairs = union_all(select(base.c.userid, base.c.state), select(per_day.c.userid, per_day.c.state)).subquery("p")
    pairs = select(pairs.c.userid, pairs.c.state).distinct().subquery("pairs")
    s = Staff
    grid = (select(days.c.day, pairs.c.userid, pairs.c.state, s.main_department.label("department_id"),
                   *(func.coalesce(per_day.c[name], 0).label(name) for name in COLUMNS),
                   *(func.coalesce(base.c[name], 0).label(f"b_{name}") for name in CHURN_STOCKS))
            .select_from(days).join(pairs, true())
            .outerjoin(per_day, and_(per_day.c.day == days.c.day, per_day.c.userid == pairs.c.userid,
                                     per_day.c.state == pairs.c.state))
            .outerjoin(base, and_(base.c.userid == pairs.c.userid, base.c.state == pairs.c.state))
            .outerjoin(s, and_(s.corp_id == corp_id, s.userid == pairs.c.userid))
            .subquery("grid"))
    stocks = [(grid.c[f"b_{name}"] + func.sum(grid.c[f"d_{name}"]).over(
        partition_by=(grid.c.userid, grid.c.state), order_by=grid.c.day, rows=(None, 0))).label(name)
        for name in CHURN_STOCKS]
    rows = select(grid.c.day, grid.c.userid, grid.c.state, grid.c.department_id,
                  *(grid.c[name] for name in CHURN_FLOWS), *stocks).subquery("rows")
    nonzero = or_(*(rows.c[name] != 0 for name in (*CHURN_FLOWS, *CHURN_STOCKS)))
    query = select(literal(corp_id, String).label("corp_id"), rows.c.day, rows.c.userid, rows.c.state,
                   rows.c.department_id, *(rows.c[name] for name in (*CHURN_FLOWS, *CHURN_STOCKS)),
                   literal(utcnow(), DateTime).label("computed_at")).where(nonzero)
    columns = ["corp_id", "day", "userid", "state", "department_id", *CHURN_FLOWS, *CHURN_STOCKS, "computed_at"]
    return insert(ChurnDailyStat).from_select(columns, query)


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last (delete, then insert … select; idempotent).
    Returns the rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    from_aggregate = incremental and has_rows(corp_id, first - timedelta(days=1))
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(ChurnDailyStat).where(
            ChurnDailyStat.corp_id == corp_id, ChurnDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last, from_aggregate=from_aggregate))
        from_aggregate = True
    return db.session.scalar(select(func.count()).select_from(ChurnDailyStat).where(
        ChurnDailyStat.corp_id == corp_id, ChurnDailyStat.day.between(first, last))) or 0
