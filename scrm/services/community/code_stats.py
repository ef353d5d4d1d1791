"""What a group code brought: members whose `state` is the code's (GroupMember.state, from
`groupchat/get`), by local day in the corp's time zone (SCRM_TIMEZONE, scrm/timezone.py):
joins, leaves of those members, and the members still in a group through it."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import GroupCode, GroupMember
from scrm.services import localtime
from scrm.services.validation import raise_if

MAX_DAYS = 366
DEFAULT_DAYS = 30


def _utc_start(day: date) -> datetime:
    return localtime.at_local(day, "00:00")


def stats(code: GroupCode, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Per local day from ``since`` to ``until`` (both inclusive; default the last 30 days)."""
    today = localtime.to_local(utcnow()).date()
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    raise_if(check_range(since, until))
    start, end = _utc_start(since), _utc_start(until + timedelta(days=1))
    days = {since + timedelta(days=n): {"joins": 0, "leaves": 0} for n in range((until - since).days + 1)}
    rows = db.session.execute(select(GroupMember.join_time, GroupMember.quit_time).where(
        GroupMember.corp_id == code.corp_id, GroupMember.state == code.state,
        or_(GroupMember.join_time.between(start, end), GroupMember.quit_time.between(start, end))))
    for join_time, quit_time in rows:
        for moment, key in ((join_time, "joins"), (quit_time, "leaves")):
            if moment is not None and start <= moment < end:
                days[localtime.to_local(moment).date()][key] += 1
    current = db.session.scalar(select(func.count()).select_from(GroupMember).where(
        GroupMember.corp_id == code.corp_id, GroupMember.state == code.state, GroupMember.quit_time.is_(None)))
    return {"group_code_id": code.id, "state": code.state, "since": since, "until": until,
            "timezone": str(localtime.zone()), "current_members": current or 0,
            "joins": sum(d["joins"] for d in days.values()), "leaves": sum(d["leaves"] for d in days.values()),
            "days": [{"date": day, **counts} for day, counts in days.items()]}


def check_range(since: date, until: date) -> dict[str, list[str]]:
    if since > until:
        return {"since": ["Must not be after until (default: today)."]}
    if (until - since).days + 1 > MAX_DAYS:
        return {"until": [f"At most {MAX_DAYS} days from since."]}
    return {}
