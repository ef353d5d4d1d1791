"""Daily group figures and 7-day retention from group_member, in set-based SQL (one INSERT …
SELECT per chunk of days; no per-row Python). A day is a corp-local day (SCRM_TIMEZONE): its
bounds are turned into naive UTC here and joined as a small table of days.

Per group and day: members at the end of the day (customers = type 2, staff = type 1), joins by
join_scene (1 direct invitation, 2 invitation link, 3 QR code) and through one of our group codes
(the member's `state` is a GroupCode.state), leaves by quit_scene (0 left, 1 removed); see
docs/wecom/api.md#customer-groups and docs/wecom/callbacks.md#group-events.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, DateTime, String, and_, case, delete, func, insert, literal, or_, select, union_all

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import GroupChat, GroupCode, GroupDailyStat, GroupMember
from scrm.services import localtime
from scrm.sqlfunc import sql_function

CHUNK_DAYS = 31  # days per statement (SQLite allows 500 terms in a compound SELECT)
RETENTION_DAYS = 7


# ``expr`` + 7 days, in each database's own date arithmetic.
seven_days_after = sql_function(
    "seven_days_after", DateTime(), postgresql=f"({{0}} + INTERVAL '{RETENTION_DAYS} days')",
    sqlite=f"datetime({{0}}, '+{RETENTION_DAYS} days')")


def local_midnight(day: date) -> datetime:
    """Naive UTC of 00:00 corp-local time on ``day``."""
    return datetime.combine(day, time(), tzinfo=localtime.zone()).astimezone(UTC).replace(tzinfo=None)


def local_today(now: datetime | None = None) -> date:
    return localtime.to_local(now or utcnow()).date()


def _spans(first: date, last: date, days: int):
    while first <= last:
        end = min(last, first + timedelta(days=days - 1))
        yield first, end
        first = end + timedelta(days=1)


def _day_table(buckets: list[tuple[date, date]]):
    """(day, start_at, end_at) for each bucket [first, last] of local days."""
    rows = [select(literal(first, Date).label("day"),
                   literal(local_midnight(first), DateTime).label("start_at"),
                   literal(local_midnight(last + timedelta(days=1)), DateTime).label("end_at"))
            for first, last in buckets]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("days")


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def rebuild(corp_id: str, first: date, last: date) -> int:
    """Recompute the rows of every group for the local days ``first``..``last`` (delete, then
    insert … select; idempotent). Returns the rows written. The caller commits."""
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(GroupDailyStat).where(
            GroupDailyStat.corp_id == corp_id, GroupDailyStat.day.between(chunk_first, chunk_last)))
        days = _day_table([(d, d) for d in _dates(chunk_first, chunk_last)])
        db.session.execute(_insert(corp_id, days, chunk_first, chunk_last))
    return db.session.scalar(select(func.count()).select_from(GroupDailyStat).where(
        GroupDailyStat.corp_id == corp_id, GroupDailyStat.day.between(first, last))) or 0


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _insert(corp_id: str, days, first: date, last: date):
    g, m, code = GroupChat, GroupMember, GroupCode
    start, end = days.c.start_at, days.c.end_at
    present = m.id.is_not(None)
    at_end = and_(present, or_(g.dismissed_at.is_(None), g.dismissed_at >= end),
                  or_(m.join_time.is_(None), m.join_time < end), or_(m.quit_time.is_(None), m.quit_time >= end))
    joined = and_(m.join_time >= start, m.join_time < end)
    left = and_(m.quit_time >= start, m.quit_time < end)
    window_start, window_end = local_midnight(first), local_midnight(last + timedelta(days=1))
    figures = {
        "members": _count(at_end), "customers": _count(and_(at_end, m.type == 2)),
        "staff": _count(and_(at_end, m.type == 1)),
        "joins": _count(joined), "joins_invite": _count(and_(joined, m.join_scene == 1)),
        "joins_link": _count(and_(joined, m.join_scene == 2)),
        "joins_qrcode": _count(and_(joined, m.join_scene == 3)),
        "joins_group_code": _count(and_(joined, code.id.is_not(None))),
        "leaves": _count(left), "leaves_self": _count(and_(left, m.quit_scene == 0)),
        "leaves_removed": _count(and_(left, m.quit_scene == 1)),
    }
    query = (
        select(literal(corp_id, String).label("corp_id"), days.c.day, g.chat_id, g.owner,
               *(value.label(name) for name, value in figures.items()),
               literal(utcnow(), DateTime).label("computed_at"))
        .select_from(days)
        .join(g, and_(g.corp_id == corp_id, or_(g.create_time.is_(None), g.create_time < end),
                      or_(g.dismissed_at.is_(None), g.dismissed_at >= start)))
        .outerjoin(m, and_(m.corp_id == g.corp_id, m.chat_id == g.chat_id,
                           or_(m.join_time.is_(None), m.join_time < window_end),
                           or_(m.quit_time.is_(None), m.quit_time >= window_start)))
        .outerjoin(code, and_(code.corp_id == m.corp_id, code.state == m.state))
        .group_by(days.c.day, g.chat_id, g.owner))
    columns = ["corp_id", "day", "chat_id", "owner", *figures, "computed_at"]
    return insert(GroupDailyStat).from_select(columns, query)


def week_buckets(first: date, last: date) -> list[tuple[date, date]]:
    """Monday-to-Sunday weeks covering first..last, clipped to it."""
    out, start = [], first
    while start <= last:
        end = min(last, start + timedelta(days=6 - start.weekday()))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def retention(corp_id: str, first: date, last: date, *, chat_id: str | None = None,
              owner: str | None = None, now: datetime | None = None) -> list[dict]:
    """Per week: customers (type 2) who joined a group in it; of those whose 7th day is over,
    how many were still in that group 7 days after joining."""
    now = now or utcnow()
    weeks = _day_table(week_buckets(first, last))
    m = GroupMember
    after = seven_days_after(m.join_time)
    matured = after <= now
    stayed = and_(matured, or_(m.quit_time.is_(None), m.quit_time >= after))
    query = (select(weeks.c.day, weeks.c.end_at, func.count(m.id), _count(matured), _count(stayed))
             .select_from(weeks)
             .outerjoin(m, and_(m.corp_id == corp_id, m.type == 2, m.join_time >= weeks.c.start_at,
                                m.join_time < weeks.c.end_at, *_group_filter(chat_id, owner)))
             .group_by(weeks.c.day, weeks.c.end_at).order_by(weeks.c.day))
    rows = []
    for week_start, _, joined, matured_count, retained in db.session.execute(query):
        week_start = week_start if isinstance(week_start, date) else date.fromisoformat(week_start)
        rows.append({"week_start": week_start,
                     "week_end": min(last, week_start + timedelta(days=6 - week_start.weekday())),
                     "joined": joined, "matured": matured_count, "retained": retained,
                     "left_within_7_days": matured_count - retained,
                     "retention_rate": round(retained / matured_count, 4) if matured_count else None})
    return rows


def _group_filter(chat_id: str | None, owner: str | None) -> list:
    m, g = GroupMember, GroupChat
    out = []
    if chat_id:
        out.append(m.chat_id == chat_id)
    if owner:
        out.append(m.chat_id.in_(select(g.chat_id).where(g.corp_id == m.corp_id, g.owner == owner)))
    return out
