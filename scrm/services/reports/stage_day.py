"""The funnel report's aggregate (stage_daily_stat), in set-based SQL, written like staff_day.py.

A customer's funnel stage (customer_stage) is set in the sidebar; every change is a timeline
entry of kind `stage_changed` with data {"from": id, "to": id} (None: no stage). So a customer
is in a stage from one change to the next (LEAD over the customer's changes). A customer with a
stage but no recorded change (set before the timeline recorded changes) is in it from the
customer_stage row's updated_at on.

The report counts relations (a member following the customer): a relation is in the customer's
stage while both hold — from the later of the stage change and the add to the earlier of the
next change and the relation's end. Per corp-local day, stage, member and channel code
(follow_relation.state):

* `customers` (stock): relations in the stage at the end of the day: base + running sum of +1 at
  each interval start and -1 at each stop;
* `entered` (flow): changes into the stage that day during the relation's life (an add to a
  customer already in a stage is not an entry: it is counted in the stock only);
* `entered_total`: the entries up to the end of the day (base + running sum), so a report reads a
  range's entries from two days' rows.

Rows where all three are zero are not written: a missing row is zeros. stage_daily_total adds up
the whole corp per day and stage (the unfiltered report's chart).
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
from scrm.models import CustomerStage, FollowRelation, Staff, StageDailyStat, StageDailyTotal, TimelineEntry
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight
from scrm.services.reports import staff_day
from scrm.services.reports.sql import earliest

CHUNK_DAYS = 31
KIND = "stage_changed"
KEY = ("userid", "state", "stage_id")


def _latest(a, b):
    return case((a > b, a), else_=b)


def _stage_intervals(corp_id: str, customers=None):
    """(external_userid, stage_id, start, stop) per customer: from a change to the next (stop NULL:
    still in it); ``customers`` narrows to a subquery of external_userids."""
    te = TimelineEntry
    narrowed = [te.external_userid.in_(customers)] if customers is not None else []
    changes = (select(te.external_userid.label("external_userid"),
                      te.data["to"].as_integer().label("stage_id"), te.occurred_at.label("start"),
                      func.lead(te.occurred_at).over(partition_by=te.external_userid,
                                                     order_by=(te.occurred_at, te.id)).label("stop"))
               .where(te.corp_id == corp_id, te.kind == KIND, *narrowed).subquery("changes"))
    cs = CustomerStage
    unrecorded = (select(cs.external_userid, cs.stage_id, func.coalesce(cs.updated_at, cs.created_at),
                         literal(None, DateTime))
                  .where(cs.corp_id == corp_id,
                         ~exists().where(te.corp_id == corp_id, te.external_userid == cs.external_userid,
                                         te.kind == KIND)))
    if customers is not None:
        unrecorded = unrecorded.where(cs.external_userid.in_(customers))
    recorded = select(changes.c.external_userid, changes.c.stage_id, changes.c.start, changes.c.stop).where(
        changes.c.stage_id.is_not(None))
    return union_all(recorded, unrecorded).subquery("stage_spans")


def _relation_end(fr):
    return case((fr.status != "active", func.coalesce(fr.status_changed_at, fr.updated_at)),
                else_=literal(None, DateTime))


def _intervals(corp_id: str, window: tuple[datetime, datetime] | None = None):
    """Relation × stage intervals (userid, state, stage_id, start, stop, changed_at). With
    ``window``: only customers whose intervals can start or stop in it (a stage change, an add or
    an end in it)."""
    fr = FollowRelation
    customers = None
    if window is not None:
        start, end = window
        te, moved = TimelineEntry, FollowRelation.__table__.alias("moved")
        moved_end = case((moved.c.status != "active", func.coalesce(moved.c.status_changed_at, moved.c.updated_at)),
                         else_=literal(None, DateTime))
        moved_start = func.coalesce(moved.c.added_at, moved.c.created_at)
        customers = union_all(
            select(te.external_userid).where(te.corp_id == corp_id, te.kind == KIND, te.occurred_at >= start,
                                             te.occurred_at < end),
            select(moved.c.external_userid).where(
                moved.c.corp_id == corp_id, or_(and_(moved_start >= start, moved_start < end),
                                                and_(moved_end >= start, moved_end < end))))
        customers = select(customers.subquery("touched").c.external_userid)
    spans = _stage_intervals(corp_id, customers)
    r_start, r_stop = func.coalesce(fr.added_at, fr.created_at), _relation_end(fr)
    start = _latest(spans.c.start, r_start)
    stop = earliest(spans.c.stop, r_stop)
    return (select(fr.userid.label("userid"), func.coalesce(fr.state, "").label("state"),
                   spans.c.stage_id.label("stage_id"), start.label("start"), stop.label("stop"),
                   case((spans.c.start >= r_start, spans.c.start), else_=literal(None, DateTime)).label("changed_at"))
            .select_from(fr)
            .join(spans, spans.c.external_userid == fr.external_userid)
            .where(fr.corp_id == corp_id, or_(spans.c.stop.is_(None), spans.c.stop > r_start),
                   or_(r_stop.is_(None), r_stop > spans.c.start))
            .cte("stage_open"))


def _events(iv, start: datetime, end: datetime):
    def within(column):
        return and_(column >= start, column < end)

    def branch(at, where, delta, entered):
        return select(*(iv.c[k] for k in KEY), at.label("at"), literal(delta, Integer).label("delta"),
                      literal(entered, Integer).label("entered")).select_from(iv).where(*where)

    real = or_(iv.c.stop.is_(None), iv.c.stop > iv.c.start)
    return union_all(branch(iv.c.start, [within(iv.c.start), real], 1, 0),
                     branch(iv.c.stop, [within(iv.c.stop), real], -1, 0),
                     branch(iv.c.changed_at, [within(iv.c.changed_at), real], 0, 1)).subquery("events")


def _base_from_sources(iv, at: datetime):
    """Per key at ``at``: relations in the stage, and the entries so far."""
    real = or_(iv.c.stop.is_(None), iv.c.stop > iv.c.start)
    alive = and_(iv.c.start < at, or_(iv.c.stop.is_(None), iv.c.stop >= at), real)
    keys = [iv.c[k] for k in KEY]
    rows = union_all(
        select(*keys, literal(1, Integer).label("customers"), literal(0, Integer).label("entered_total")).where(alive),
        select(*keys, literal(0, Integer), literal(1, Integer)).where(iv.c.changed_at < at, real)).subquery("base_rows")
    return (select(*(rows.c[k] for k in KEY), func.sum(rows.c.customers).label("customers"),
                   func.sum(rows.c.entered_total).label("entered_total"))
            .group_by(*(rows.c[k] for k in KEY)).subquery("base"))


def _base_from_aggregate(corp_id: str, day: date):
    s = StageDailyStat
    return (select(s.userid, s.state, s.stage_id, s.customers, s.entered_total)
            .where(s.corp_id == corp_id, s.day == day, or_(s.customers != 0, s.entered_total != 0)).subquery("base"))


def has_rows(corp_id: str, day: date) -> bool:
    """Whether the day was aggregated (the follow-up aggregate is written with this one, densely)."""
    return staff_day.has_rows(corp_id, day)


def _insert(corp_id: str, first: date, last: date, *, from_aggregate: bool):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    iv = _intervals(corp_id, (start, end) if from_aggregate else None)
    e = _events(iv, start, end)
    per_day = (select(days.c.day, *(e.c[k] for k in KEY), func.sum(e.c.delta).label("delta"),
                      func.sum(e.c.entered).label("entered"))
               .select_from(days).join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
               .group_by(days.c.day, *(e.c[k] for k in KEY)).subquery("per_day"))
    base = _base_from_aggregate(corp_id, first - timedelta(days=1)) if from_aggregate else _base_from_sources(iv, start)
    keys = union_all(select(*(base.c[k] for k in KEY)), select(*(per_day.c[k] for k in KEY))).subquery("any_keys")
    keys = select(*(keys.c[k] for k in KEY)).distinct().subquery("keys")

    def on_key(other):
        return and_(*(other.c[k] == keys.c[k] for k in KEY))

    grid = (select(days.c.day, *(keys.c[k] for k in KEY), func.coalesce(per_day.c.delta, 0).label("delta"),
                   func.coalesce(per_day.c.entered, 0).label("entered"),
                   func.coalesce(base.c.customers, 0).label("base"),
                   func.coalesce(base.c.entered_total, 0).label("base_entered"))
            .select_from(days).join(keys, true())
            .outerjoin(per_day, and_(per_day.c.day == days.c.day, on_key(per_day)))
            .outerjoin(base, on_key(base))
            .subquery("grid"))
    window = {"partition_by": [grid.c[k] for k in KEY], "order_by": grid.c.day, "rows": (None, 0)}
    ran = select(grid.c.day, *(grid.c[k] for k in KEY), grid.c.entered,
                 (grid.c.base + func.sum(grid.c.delta).over(**window)).label("customers"),
                 (grid.c.base_entered + func.sum(grid.c.entered).over(**window)).label("entered_total")).subquery("ran")
    query = (select(literal(corp_id, String).label("corp_id"), ran.c.day, ran.c.stage_id, ran.c.userid, ran.c.state,
                    Staff.main_department.label("department_id"), ran.c.customers, ran.c.entered, ran.c.entered_total,
                    literal(utcnow(), DateTime).label("computed_at"))
             .select_from(ran)
             .outerjoin(Staff, and_(Staff.corp_id == corp_id, Staff.userid == ran.c.userid))
             .where(or_(ran.c.customers != 0, ran.c.entered != 0, ran.c.entered_total != 0)))
    columns = ["corp_id", "day", "stage_id", "userid", "state", "department_id", "customers", "entered",
               "entered_total", "computed_at"]
    return insert(StageDailyStat).from_select(columns, query)


def _totals(corp_id: str, first: date, last: date) -> None:
    """The whole corp per day and stage, from the rows just written."""
    s, t = StageDailyStat, StageDailyTotal
    db.session.execute(delete(t).where(t.corp_id == corp_id, t.day.between(first, last)),
                       execution_options={"synchronize_session": False})
    sums = (select(literal(corp_id, String), s.day, s.stage_id, func.sum(s.customers), func.sum(s.entered))
            .where(s.corp_id == corp_id, s.day.between(first, last)).group_by(s.day, s.stage_id))
    db.session.execute(insert(t).from_select(["corp_id", "day", "stage_id", "customers", "entered"], sums))


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last (delete, then insert … select; idempotent).
    ``incremental``: the stocks before ``first`` from the day before's rows when that day was
    aggregated, else counted from the sources. Returns the rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    from_aggregate = incremental and has_rows(corp_id, first - timedelta(days=1))
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(StageDailyStat).where(
            StageDailyStat.corp_id == corp_id, StageDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last, from_aggregate=from_aggregate))
        _totals(corp_id, chunk_first, chunk_last)
        from_aggregate = True
    return db.session.scalar(select(func.count()).select_from(StageDailyStat).where(
        StageDailyStat.corp_id == corp_id, StageDailyStat.day.between(first, last))) or 0
