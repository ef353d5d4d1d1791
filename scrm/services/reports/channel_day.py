"""The channel report's aggregate (channel_daily_stat), in set-based SQL.

Per corp-local day, channel code and member, one INSERT … SELECT per chunk of days, a GROUP BY
over a UNION ALL of two branches joined to a small table of days (their bounds in naive UTC):

* the add cohort of the day: relations added that day (follow_relation.added_at), their channel
  code by `state` (the live code holding that state, else the latest deleted one; 0: none), and
  per add — a welcome message delivered (welcome_message of the same member and customer received
  from an hour before the add to a day after it, status sent or already_chatting), whether the add
  is at least 7 / 30 days old at the computation (`eligible_*`) and, if so, whether its relation
  was not lost within those days (`retained_*`: still active, or handed over — a transfer keeps
  the customer), the customer's funnel stage (the row's `stage_id`) and whether it is beyond
  the first (`staged`);
* losses of the day: relations of the channel (added whenever) ended by the member, the
  customer or a sync (deleted_*) that day.

The cohort figures change after the day: an add becomes eligible 7 and 30 days later, a stage
moves. So every build also recomputes the add days from 31 days before today (today's refresh
every few minutes, the nightly run), and a cohort older than that is final. A rebuild of an old
range recomputes it from the rows as they are now (the current stage, the latest life of a
relation deleted and added again). No base is carried: a report sums the rows of its range. Every build then adds up the
months it touched into channel_month_stat (from the daily rows), which a report reads for the
whole months of its range.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Date, DateTime, Integer, String, and_, case, delete, func, insert, literal, select, union_all

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    Channel,
    ChannelDailyStat,
    ChannelMonthStat,
    CustomerStage,
    FollowRelation,
    FunnelStage,
    Staff,
    WelcomeMessage,
)
from scrm.models.channel_report import CHANNEL_FIGURES, NO_CHANNEL, NO_STAGE
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight, local_today
from scrm.services.reports.sql import seconds_between

CHUNK_DAYS = 31
COHORT_DAYS = 31  # add days whose cohort figures may still change: recomputed on every build
RETENTION = (7, 30)
LOSSES = ("deleted_by_staff", "deleted_by_customer", "deleted_unknown")
DELIVERED = ("sent", "already_chatting")
WELCOME_BEFORE, WELCOME_AFTER = 3600, 86400  # seconds around the add a welcome belongs to it


def _codes(corp_id: str):
    """state → channel code: the live code holding it, else the latest deleted one."""
    c = Channel
    return (select(c.state.label("state"),
                   func.coalesce(func.max(case((c.status == "active", c.id))), func.max(c.id)).label("channel_id"))
            .where(c.corp_id == corp_id).group_by(c.state).subquery("codes"))


def _initial_order(corp_id: str):
    f = FunnelStage
    return select(func.min(f.order)).where(f.corp_id == corp_id, f.deleted.is_(False)).scalar_subquery()


def _flag(condition):
    return case((condition, 1), else_=0)


def _cohort(corp_id: str, start: datetime, end: datetime, now: datetime, codes):
    """One row per relation added in [start, end): its figures as 0/1."""
    fr, wm, cs, fs = FollowRelation, WelcomeMessage, CustomerStage, FunnelStage
    after_add = seconds_between(wm.received_at, fr.added_at)
    per_add = (select(fr.id.label("id"), func.max(_flag(wm.id.is_not(None))).label("welcomed"))
               .select_from(fr)
               .outerjoin(wm, and_(wm.corp_id == corp_id, wm.external_userid == fr.external_userid,
                                   wm.userid == fr.userid, wm.status.in_(DELIVERED),
                                   after_add >= -WELCOME_BEFORE, after_add < WELCOME_AFTER))
               .where(fr.corp_id == corp_id, fr.added_at >= start, fr.added_at < end)
               .group_by(fr.id).subquery("per_add"))
    age = seconds_between(literal(now, DateTime), fr.added_at)
    lived = seconds_between(_ended_at(fr), fr.added_at)
    lost = fr.status.in_(LOSSES)
    figures = {"adds": literal(1, Integer), "welcomed": per_add.c.welcomed}
    for n in RETENTION:
        eligible = age >= n * 86400
        figures[f"eligible_{n}"] = _flag(eligible)
        figures[f"retained_{n}"] = _flag(and_(eligible, ~and_(lost, lived < n * 86400)))
    figures["staged"] = _flag(fs.order > _initial_order(corp_id))
    figures["lost"] = literal(0, Integer)
    return (select(fr.userid.label("userid"), fr.added_at.label("at"),
                   func.coalesce(codes.c.channel_id, NO_CHANNEL).label("channel_id"),
                   func.coalesce(fs.id, NO_STAGE).label("stage_id"),
                   *(figures[name].label(name) for name in CHANNEL_FIGURES))
            .select_from(fr).join(per_add, per_add.c.id == fr.id)
            .outerjoin(codes, codes.c.state == fr.state)
            .outerjoin(cs, and_(cs.corp_id == corp_id, cs.external_userid == fr.external_userid))
            .outerjoin(fs, fs.id == cs.stage_id))


def _ended_at(fr):
    """When a relation ended (as staff_day: its status change, else its last update)."""
    return func.coalesce(fr.status_changed_at, fr.updated_at)


def _losses(corp_id: str, start: datetime, end: datetime, codes):
    fr = FollowRelation
    zero = literal(0, Integer)
    ended = _ended_at(fr)
    return (select(fr.userid.label("userid"), ended.label("at"),
                   func.coalesce(codes.c.channel_id, NO_CHANNEL).label("channel_id"),
                   literal(NO_STAGE, Integer).label("stage_id"),
                   *((literal(1, Integer) if name == "lost" else zero).label(name) for name in CHANNEL_FIGURES))
            .select_from(fr).outerjoin(codes, codes.c.state == fr.state)
            .where(fr.corp_id == corp_id, fr.status.in_(LOSSES), ended >= start, ended < end))


def _insert(corp_id: str, first: date, last: date, now: datetime):
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])
    codes = _codes(corp_id)
    events = union_all(_cohort(corp_id, start, end, now, codes), _losses(corp_id, start, end, codes)).subquery("ev")
    s = Staff
    query = (select(literal(corp_id, String).label("corp_id"), days.c.day, events.c.channel_id, events.c.userid,
                    events.c.stage_id, func.max(s.main_department).label("department_id"),
                    *(func.sum(events.c[name]).label(name) for name in CHANNEL_FIGURES),
                    literal(now, DateTime).label("computed_at"))
             .select_from(days)
             .join(events, and_(events.c.at >= days.c.start_at, events.c.at < days.c.end_at))
             .outerjoin(s, and_(s.corp_id == corp_id, s.userid == events.c.userid))
             .group_by(days.c.day, events.c.channel_id, events.c.userid, events.c.stage_id))
    columns = ["corp_id", "day", "channel_id", "userid", "stage_id", "department_id", *CHANNEL_FIGURES, "computed_at"]
    return insert(ChannelDailyStat).from_select(columns, query)


def months_of(first: date, last: date) -> list[tuple[date, date]]:
    """(first day, last day) of each calendar month first..last touches."""
    out, month = [], first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        out.append((month, following - timedelta(days=1)))
        month = following
    return out


def _roll_up(corp_id: str, first: date, last: date, now: datetime) -> None:
    """channel_month_stat of the months first..last touches, from their daily rows."""
    months = months_of(first, last)
    d, m = ChannelDailyStat, ChannelMonthStat
    db.session.execute(delete(m).where(m.corp_id == corp_id, m.month.between(months[0][0], months[-1][0])),
                       execution_options={"synchronize_session": False})
    table = union_all(*(select(literal(a, Date).label("month"), literal(b, Date).label("last_day"))
                        for a, b in months)) if len(months) > 1 else \
        select(literal(months[0][0], Date).label("month"), literal(months[0][1], Date).label("last_day"))
    spans = table.subquery("months")
    query = (select(literal(corp_id, String).label("corp_id"), spans.c.month, d.channel_id, d.userid, d.stage_id,
                    func.max(d.department_id).label("department_id"),
                    *(func.sum(getattr(d, n)).label(n) for n in CHANNEL_FIGURES),
                    literal(now, DateTime).label("computed_at"))
             .select_from(spans)
             .join(d, and_(d.corp_id == corp_id, d.day >= spans.c.month, d.day <= spans.c.last_day))
             .group_by(spans.c.month, d.channel_id, d.userid, d.stage_id))
    columns = ["corp_id", "month", "channel_id", "userid", "stage_id", "department_id", *CHANNEL_FIGURES,
               "computed_at"]
    db.session.execute(insert(m).from_select(columns, query))


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last, and the add cohorts of the last COHORT_DAYS
    days before today when the range reaches them (delete, then insert … select; idempotent).
    ``incremental`` is accepted for the registry: nothing is carried from the day before.
    Returns the rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    now = utcnow()
    open_from = local_today(now) - timedelta(days=COHORT_DAYS)
    if last >= open_from:
        first = min(first, open_from)
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(ChannelDailyStat).where(
            ChannelDailyStat.corp_id == corp_id, ChannelDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last, now))
    _roll_up(corp_id, first, last, now)
    return db.session.scalar(select(func.count()).select_from(ChannelDailyStat).where(
        ChannelDailyStat.corp_id == corp_id, ChannelDailyStat.day.between(first, last))) or 0

