"""The follow-up report's aggregate (staff_daily_stat), in set-based SQL.

Per corp-local day and staff member, in one INSERT … SELECT per chunk of days:

* flows: events whose timestamp falls in the day (relations added and ended, follow-ups
  written, next follow-ups and SOP / recall tasks falling due, tasks confirmed, first replies to
  new customers), counted by a GROUP BY over a UNION ALL of the sources joined to a small table
  of days (their bounds in naive UTC, scrm/services/group_stats/aggregate.py);
* stocks: intervals [start, stop) during which something is open (a relation is active, a next
  follow-up is overdue, a task is due and unconfirmed); a stock at the end of a day is its value
  before the range (the base) plus the running sum of +1 at each start and -1 at each stop
  (a window function), so a year is one pass over the sources, not a pass per day.

The base is read from the aggregate row of the day before the range when it exists (the nightly
run and today's refresh: incremental, no scan of history), else counted from the sources (a
rebuild, the first run). Every staff member known on the range (not left before it) gets a row
per day, so a stock is always on the row of the range's last day.
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
from sqlalchemy.orm import aliased

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import ArchivedMessage, FollowRelation, FollowUp, Recall, SopTask, Staff, StaffDailyStat
from scrm.models.reports import STAFF_FLOWS, STAFF_STOCKS
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight
from scrm.services.reports.sql import earliest, seconds_between

CHUNK_DAYS = 31  # days per statement (the day table is a compound SELECT: SQLite allows 500 terms)
FIRST_REPLY_WINDOW = 24 * 3600  # a new customer answered within this many seconds counts
ENDED = {"deleted_by_staff": "lost_by_staff", "deleted_by_customer": "lost_by_customer",
         "deleted_unknown": "lost_other", "transferred": "transferred_out"}
DELTAS = tuple(f"d_{name}" for name in STAFF_STOCKS)
COLUMNS = (*STAFF_FLOWS, *DELTAS)


def _branch(userid, at, where, source, **values):
    """One SELECT of the event union: (userid, at, every column of COLUMNS; 0 where not given)."""
    zero = literal(0, Integer)
    cols = [values.get(name, zero).label(name) if name in values else zero.label(name) for name in COLUMNS]
    return select(userid.label("userid"), at.label("at"), *cols).select_from(source).where(*where)


# ---- the intervals behind the stocks -------------------------------------------------------------

def _relation_end(fr):
    return case((fr.status != "active", func.coalesce(fr.status_changed_at, fr.updated_at)),
                else_=literal(None, DateTime))


def _relation_start(fr):
    return func.coalesce(fr.added_at, fr.created_at)


def _overdue_intervals(corp_id: str, window: tuple[datetime, datetime] | None = None):
    """Next follow-ups: overdue from next_at until a later follow-up of that customer by the
    responsible member (the successor after a handover) or the end of the relation. The later
    follow-up is found by a join grouped per follow-up (not a subquery per row). With
    ``window``, only the intervals that can start or stop in it: due in it, or about a customer
    with a follow-up written or a relation ended in it (no base is counted then)."""
    f, later, fr = FollowUp, FollowUp.__table__.alias("later"), FollowRelation
    owner = func.coalesce(f.assignee_userid, f.userid)
    narrowed = []
    if window is not None:
        start, end = window
        new = FollowUp.__table__.alias("written")
        written = select(new.c.external_userid).where(
            new.c.corp_id == corp_id, new.c.created_at >= start, new.c.created_at < end)
        gone = aliased(FollowRelation, name="gone")
        ended = _relation_end(gone)
        lost = select(gone.external_userid).where(gone.corp_id == corp_id, ended >= start, ended < end)
        narrowed.append(or_(and_(f.next_at >= start, f.next_at < end), f.external_userid.in_(written),
                            f.external_userid.in_(lost)))
    asked = (select(f.id.label("id"), owner.label("userid"), f.external_userid.label("external_userid"),
                    f.next_at.label("start"), func.min(later.c.created_at).label("done_at"))
             .select_from(f)
             .outerjoin(later, and_(later.c.corp_id == f.corp_id, later.c.external_userid == f.external_userid,
                                    later.c.userid == owner, later.c.created_at > f.created_at))
             .where(f.corp_id == corp_id, f.next_at.is_not(None), *narrowed)
             .group_by(f.id, owner, f.external_userid, f.next_at)
             .subquery("asked"))
    return (select(asked.c.userid, asked.c.start, earliest(asked.c.done_at, _relation_end(fr)).label("stop"),
                   asked.c.id, asked.c.external_userid)
            .select_from(asked).outerjoin(fr, and_(fr.corp_id == corp_id, fr.userid == asked.c.userid,
                                                   fr.external_userid == asked.c.external_userid))
            .cte("overdue_open"))


def _confirmed_at(model, delivery_column):
    """A task is confirmed when WeCom reports the mass send sent, or the member sent it from the sidebar."""
    return func.coalesce(model.sent_from_sidebar_at,
                         case((and_(delivery_column == "mass_send", model.status == "sent"), model.sent_at),
                              else_=literal(None, DateTime)))


def _task_intervals(corp_id: str, model, delivery_column, name: str):
    """SOP / recall tasks: pending from due_at until confirmed or given up (failed, skipped, cancelled)."""
    confirmed = _confirmed_at(model, delivery_column)
    given_up = case((model.status.in_(("failed", "skipped", "cancelled")),
                     func.coalesce(model.finished_at, model.due_at)), else_=literal(None, DateTime))
    return (select(model.userid.label("userid"), model.due_at.label("start"),
                   func.coalesce(confirmed, given_up).label("stop"), confirmed.label("confirmed_at"),
                   model.status.label("status"))
            .where(model.corp_id == corp_id).cte(name))


def _relation_intervals(corp_id: str):
    fr = FollowRelation
    return (select(fr.userid.label("userid"), _relation_start(fr).label("start"),
                   _relation_end(fr).label("stop")).where(fr.corp_id == corp_id).cte("owned_open"))


def _intervals(corp_id: str, window: tuple[datetime, datetime] | None = None) -> dict:
    return {"customers": _relation_intervals(corp_id), "next_overdue": _overdue_intervals(corp_id, window),
            "sop_pending": _task_intervals(corp_id, SopTask, SopTask.delivery, "sop_open"),
            "recall_pending": _task_intervals(corp_id, Recall, Recall.action, "recall_open")}


def _opens(iv):
    """An interval that is open at some moment (a stop before the start never was)."""
    return or_(iv.c.stop.is_(None), iv.c.stop >= iv.c.start)


# ---- the event union --------------------------------------------------------------------------

def _events(corp_id: str, start: datetime, end: datetime, intervals: dict):
    def within(column):
        return and_(column >= start, column < end)

    one, minus = literal(1, Integer), literal(-1, Integer)
    fr, f = FollowRelation, FollowUp
    branches = []
    for stock, iv in intervals.items():  # +1 where an interval starts, -1 where it stops
        branches.append(_branch(iv.c.userid, iv.c.start, [within(iv.c.start), _opens(iv)], iv, **{f"d_{stock}": one}))
        branches.append(_branch(iv.c.userid, iv.c.stop, [within(iv.c.stop), iv.c.stop >= iv.c.start], iv,
                                **{f"d_{stock}": minus}))
    added = _relation_start(fr)
    branches.append(_branch(fr.userid, added, [fr.corp_id == corp_id, within(added)], fr, new_customers=one))
    ended = _relation_end(fr)
    branches.append(_branch(
        fr.userid, ended, [fr.corp_id == corp_id, fr.status.in_(tuple(ENDED)), within(ended)], fr,
        **{column: case((fr.status == status, 1), else_=0) for status, column in ENDED.items()}))
    branches.append(_branch(f.userid, f.created_at, [f.corp_id == corp_id, within(f.created_at)], f, follow_ups=one))
    branches.append(_branch(func.coalesce(f.assignee_userid, f.userid), f.next_at,
                            [f.corp_id == corp_id, within(f.next_at)], f, next_due=one))
    for prefix in ("sop", "recall"):
        iv = intervals[f"{prefix}_pending"]
        branches.append(_branch(iv.c.userid, iv.c.start, [within(iv.c.start), iv.c.status != "cancelled"], iv,
                                **{f"{prefix}_due": one}))
        branches.append(_branch(iv.c.userid, iv.c.confirmed_at, [within(iv.c.confirmed_at)], iv,
                                **{f"{prefix}_confirmed": one}))
    replies = _first_replies(corp_id, start, end)
    answered = replies.c.seconds <= FIRST_REPLY_WINDOW
    branches.append(_branch(replies.c.userid, replies.c.added_at, [answered], replies, first_replies=one,
                            first_reply_seconds=replies.c.seconds))
    return union_all(*branches).subquery("events")


def _first_replies(corp_id: str, start: datetime, end: datetime):
    """Relations added in the window with the member's first archived 1:1 message to the customer
    after the add: a join of the window's adds to the messages of the window and the day after
    (both through their time indexes), grouped by relation."""
    fr, m = FollowRelation, ArchivedMessage
    first_at = func.min(m.msgtime)
    return (select(fr.userid.label("userid"), fr.added_at.label("added_at"),
                   seconds_between(first_at, fr.added_at).label("seconds"))
            .select_from(fr)
            .join(m, and_(m.corp_id == corp_id, m.from_id == fr.userid, m.peer_id == fr.external_userid,
                          m.msgtime >= fr.added_at, m.msgtime >= start,
                          m.msgtime < end + timedelta(seconds=FIRST_REPLY_WINDOW),
                          or_(m.action.is_(None), m.action == "send")))
            .where(fr.corp_id == corp_id, fr.added_at >= start, fr.added_at < end)
            .group_by(fr.id, fr.userid, fr.added_at)
            .subquery("replies"))


# ---- the stocks before the range ---------------------------------------------------------------

def _base_from_sources(corp_id: str, at: datetime, intervals: dict):
    """Each member's stocks at ``at`` counted from the sources (a full pass)."""
    zero = literal(0, Integer)
    parts = []
    for stock, iv in intervals.items():
        alive = and_(iv.c.start < at, or_(iv.c.stop.is_(None), iv.c.stop >= at))
        parts.append(select(iv.c.userid.label("userid"),
                            *((literal(1, Integer) if name == stock else zero).label(name) for name in STAFF_STOCKS))
                     .select_from(iv).where(alive))
    rows = union_all(*parts).subquery("base_rows")
    return (select(rows.c.userid, *(func.sum(rows.c[name]).label(name) for name in STAFF_STOCKS))
            .group_by(rows.c.userid).subquery("base"))


def _base_from_aggregate(corp_id: str, day: date):
    s = StaffDailyStat
    return (select(s.userid.label("userid"), *(getattr(s, name).label(name) for name in STAFF_STOCKS))
            .where(s.corp_id == corp_id, s.day == day).subquery("base"))


def has_rows(corp_id: str, day: date) -> bool:
    return bool(db.session.scalar(select(exists().where(StaffDailyStat.corp_id == corp_id,
                                                        StaffDailyStat.day == day))))


# ---- the statement ---------------------------------------------------------------------------

def _insert(corp_id: str, first: date, last: date, *, from_aggregate: bool):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    intervals = _intervals(corp_id, (start, end) if from_aggregate else None)
    e = _events(corp_id, start, end, intervals)
    per_day = (select(days.c.day, e.c.userid, *(func.sum(e.c[name]).label(name) for name in COLUMNS))
               .select_from(days).join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
               .group_by(days.c.day, e.c.userid).subquery("per_day"))
    base = (_base_from_aggregate(corp_id, first - timedelta(days=1)) if from_aggregate
            else _base_from_sources(corp_id, start, intervals))
    s = Staff
    grid = (select(days.c.day, s.userid, s.main_department.label("department_id"),
                   *(func.coalesce(per_day.c[name], 0).label(name) for name in COLUMNS),
                   *(func.coalesce(base.c[name], 0).label(f"b_{name}") for name in STAFF_STOCKS))
            .select_from(days).join(s, true())
            .outerjoin(per_day, and_(per_day.c.day == days.c.day, per_day.c.userid == s.userid))
            .outerjoin(base, base.c.userid == s.userid)
            .where(s.corp_id == corp_id, or_(s.left_at.is_(None), s.left_at >= start))
            .subquery("grid"))
    stocks = [(grid.c[f"b_{name}"] + func.sum(grid.c[f"d_{name}"]).over(
        partition_by=grid.c.userid, order_by=grid.c.day, rows=(None, 0))).label(name) for name in STAFF_STOCKS]
    query = select(literal(corp_id, String).label("corp_id"), grid.c.day, grid.c.userid, grid.c.department_id,
                   *(grid.c[name] for name in STAFF_FLOWS), *stocks,
                   literal(utcnow(), DateTime).label("computed_at"))
    columns = ["corp_id", "day", "userid", "department_id", *STAFF_FLOWS, *STAFF_STOCKS, "computed_at"]
    return insert(StaffDailyStat).from_select(columns, query)


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last (delete, then insert … select; idempotent).
    ``incremental``: take the stocks before ``first`` from the row of the day before when the
    corp has one, else count them from the sources. Returns the rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    from_aggregate = incremental and has_rows(corp_id, first - timedelta(days=1))
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(StaffDailyStat).where(
            StaffDailyStat.corp_id == corp_id, StaffDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last, from_aggregate=from_aggregate))
        from_aggregate = True  # the next chunk starts from this one's last day
    return db.session.scalar(select(func.count()).select_from(StaffDailyStat).where(
        StaffDailyStat.corp_id == corp_id, StaffDailyStat.day.between(first, last))) or 0
