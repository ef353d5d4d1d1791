"""WeCom's daily per-member behaviour figures (`get_user_behavior_data`) into staff_behavior_day.

One call per member per span of up to 30 days (several userids would be summed into one series),
each through the corp's rate limiter and retried in place on retryable errors
(scrm/wecom/retry.py). A member's rows for the span are replaced as a whole, so a pull can be
repeated. Members asked about: the corp's staff not known to have left (WeCom status 5 / left_at).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert, or_, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Staff, StaffBehaviorDay
from scrm.models.churn import BEHAVIOUR_FIGURES
from scrm.services.corps import wecom_client
from scrm.wecom import behavior as api
from scrm.wecom.retry import call_with_backoff


def pullable(day: date, now: datetime | None = None) -> bool:
    today = api.wecom_today(now or utcnow())
    return today - timedelta(days=api.HISTORY_DAYS) <= day < today


def members(corp_id: str) -> list[str]:
    s = Staff
    return list(db.session.scalars(select(s.userid).where(
        s.corp_id == corp_id, s.left_at.is_(None), or_(s.status.is_(None), s.status != 5)).order_by(s.userid)))


def _day(stat_time) -> date:
    return datetime.fromtimestamp(int(stat_time), UTC).astimezone(api.CST).date()


def _row(corp_id: str, userid: str, item: dict) -> dict:
    def number(name):
        value = item.get(name)
        return None if value is None else float(value)
    return {"corp_id": corp_id, "userid": userid, "day": _day(item["stat_time"]), "pulled_at": utcnow(),
            "reply_percentage": number("reply_percentage"), "avg_reply_time": number("avg_reply_time"),
            **{name: int(item.get(name) or 0) for name in BEHAVIOUR_FIGURES}}


def pull(corp_id: str, first: date, last: date, *, client=None, sleep: Callable[[float], None],
         now: datetime | None = None, userids: list[str] | None = None) -> int:
    """Replace the rows of first..last (China Standard Time days WeCom answers for) for each
    member. Returns rows stored; the caller commits. ValueError for days WeCom does not answer
    for; WeComError when a call fails for good."""
    if not (pullable(first, now) and pullable(last, now)) or last < first:
        raise ValueError(f"WeCom has behaviour data only for yesterday or earlier, the last "
                         f"{api.HISTORY_DAYS} days: {first.isoformat()}..{last.isoformat()}")
    userids = members(corp_id) if userids is None else userids
    if not userids:
        return 0
    client = client or wecom_client(corp_id, max_rate_wait=60.0)
    stored = 0
    for userid in userids:
        start = first
        while start <= last:
            end = min(last, start + timedelta(days=api.MAX_SPAN_DAYS - 1))
            reply = call_with_backoff(api.user_behavior_data, client, userid, start, end, sleep=sleep)
            rows = {row["day"]: row for row in (_row(corp_id, userid, item)
                                                for item in reply.get("behavior_data") or []
                                                if item.get("stat_time") is not None)
                    if start <= row["day"] <= end}
            db.session.execute(delete(StaffBehaviorDay).where(
                StaffBehaviorDay.corp_id == corp_id, StaffBehaviorDay.userid == userid,
                StaffBehaviorDay.day.between(start, end)))
            if rows:
                db.session.execute(insert(StaffBehaviorDay), list(rows.values()))
            stored += len(rows)
            start = end + timedelta(days=1)
    return stored
