"""WeCom's own group figures per owner and day (`groupchat/statistic`, docs/wecom/api.md#group-statistics)
and the nightly run that also rebuilds the daily group rows.

One `groupchat/statistic` call per 100 owners per day, paged by offset; every call goes through
the corp's rate limiter (scrm/wecom/ratelimit.py) and retryable errors are retried in place
(scrm/wecom/retry.py). A day's rows for the owners asked about are replaced as a whole, so a
pull can be repeated. WeCom counts days in China Standard Time, only yesterday or earlier and
the last 180 days.

The nightly run (`run_nightly`, the sweep "group-stats"): once the corp-local clock passes
SCRM_GROUP_STATS_AT (default 04:00, after the nightly sync) it rebuilds the group rows of the last
two local days (late callbacks) and pulls yesterday's owner figures. A GroupStatsPull row per corp
and local day makes it run once however many schedulers tick; a failed run is recorded (errcode
and API, no personal data) and tried again by later ticks, at most MAX_ATTEMPTS times that day.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import GroupChat, GroupOwnerDailyStat, GroupStatsPull
from scrm.models.group_stats import OWNER_FIGURES
from scrm.services import localtime
from scrm.services.corps import wecom_client
from scrm.services.daily_runs import claim_daily_run
from scrm.services.group_stats.aggregate import local_midnight, rebuild
from scrm.wecom import WeComError
from scrm.wecom import group_stats as api
from scrm.wecom.retry import call_with_backoff

log = logging.getLogger(__name__)

real_sleep: Callable[[float], None] = time.sleep  # tests replace it (nothing really sleeps)
MAX_ATTEMPTS = 3
REBUILD_DAYS = 2
STALE_RUN = timedelta(minutes=30)  # a "running" row older than this belongs to a dead worker


def pullable(day: date, now: datetime | None = None) -> bool:
    """WeCom answers for yesterday (China Standard Time) or earlier, within the last 180 days."""
    today = api.wecom_today(now or utcnow())
    return today - timedelta(days=api.HISTORY_DAYS) <= day < today


def owners_on(corp_id: str, day: date) -> list[str]:
    """Owners of the corp's groups that existed on ``day`` (as our copy knows them)."""
    g = GroupChat
    start = local_midnight(day)
    query = (select(g.owner).distinct()
             .where(g.corp_id == corp_id, g.owner.is_not(None),
                    or_(g.dismissed_at.is_(None), g.dismissed_at >= start))
             .order_by(g.owner))
    return list(db.session.scalars(query))


def pull_day(corp_id: str, day: date, *, client=None, sleep: Callable[[float], None] | None = None,
             now: datetime | None = None) -> int:
    """Replace the owner rows of ``day`` with WeCom's figures. Returns rows stored; the caller
    commits. ValueError for a day WeCom does not answer for; WeComError when it fails."""
    if not pullable(day, now):
        raise ValueError(f"WeCom has group statistics only for yesterday or earlier, the last "
                         f"{api.HISTORY_DAYS} days: {day.isoformat()}")
    owners = owners_on(corp_id, day)
    if not owners:
        return 0
    client = client or wecom_client(corp_id, max_rate_wait=60.0)
    sleep = sleep or real_sleep
    rows: list[dict] = []
    for at in range(0, len(owners), api.MAX_OWNERS):
        chunk = owners[at:at + api.MAX_OWNERS]
        offset = 0
        while True:
            reply = call_with_backoff(api.groupchat_statistic, client, day, day, chunk, offset=offset,
                                      sleep=sleep)
            items = reply.get("items") or []
            rows.extend(_row(corp_id, day, item) for item in items if item.get("owner"))
            offset = int(reply.get("next_offset") or offset + len(items))
            if not items or offset >= int(reply.get("total") or 0):
                break
    asked = {row["owner"] for row in rows}
    db.session.execute(delete(GroupOwnerDailyStat).where(
        GroupOwnerDailyStat.corp_id == corp_id, GroupOwnerDailyStat.day == day,
        GroupOwnerDailyStat.owner.in_(sorted(asked | set(owners)))))
    unique = list({row["owner"]: row for row in rows}.values())
    if unique:
        db.session.execute(insert(GroupOwnerDailyStat), unique)
    return len(unique)


def _row(corp_id: str, day: date, item: dict) -> dict:
    data = item.get("data") or {}
    return {"corp_id": corp_id, "day": day, "owner": str(item["owner"]), "pulled_at": utcnow(),
            **{name: int(data.get(name) or 0) for name in OWNER_FIGURES}}


def run_nightly(now: datetime | None = None, *, sleep: Callable[[float], None] | None = None) -> int:
    """The sweep: each corp's nightly run once per local day after SCRM_GROUP_STATS_AT.
    Returns how many corps ran to completion in this call."""
    from scrm.services.sync.schedule import corps_to_sync

    at = settings().group_stats_at
    now = now or utcnow()
    local = localtime.to_local(now)
    if not at or local.strftime("%H:%M") < at:
        return 0
    done = 0
    for corp_id in corps_to_sync():
        run = _claim(corp_id, local.date(), now)
        if run is not None:
            done += _run(run, now, sleep)
    return done


def _claim(corp_id: str, run_day: date, now: datetime) -> GroupStatsPull | None:
    """This corp's run for the day, if this caller is the one to do it now."""
    return claim_daily_run(GroupStatsPull, corp_id, run_day, now, max_attempts=MAX_ATTEMPTS, stale_after=STALE_RUN)


def _run(run: GroupStatsPull, now: datetime, sleep: Callable[[float], None] | None) -> int:
    corp_id, run_id = run.corp_id, run.id
    yesterday = run.run_day - timedelta(days=1)
    try:
        rebuild(corp_id, yesterday - timedelta(days=REBUILD_DAYS - 1), yesterday)
        # Our own rows are done: commit them before calling WeCom, so no write transaction (on
        # SQLite: the database's one write lock) stays open across the calls and their back-off.
        db.session.commit()
        day = api.wecom_today(now) - timedelta(days=1)
        owners = owners_on(corp_id, day)
        rows = pull_day(corp_id, day, sleep=sleep, now=now)
    except (WeComError, LookupError) as exc:
        db.session.rollback()
        _finish(run_id, status="failed", error=str(exc)[:500])
        log.warning("group statistics of %s failed: %s", corp_id, exc)
        return 0
    db.session.commit()
    _finish(run_id, status="done", owners=len(owners), rows=rows, error=None)
    return 1


def _finish(run_id: int, **values) -> None:
    db.session.execute(update(GroupStatsPull).where(GroupStatsPull.id == run_id)
                       .values(finished_at=utcnow(), **values))
    db.session.commit()


def rebuild_range(corp_id: str, first: date, last: date, *, pull: bool = False,
                  sleep: Callable[[float], None] | None = None) -> dict:
    """`flask scrm group-stats rebuild`: the group rows of first..last (local days, not after
    today) and, with ``pull``, WeCom's owner figures of the days it still answers for. Commits
    per day pulled, so a failure keeps what was done; WeComError propagates."""
    if last < first:
        raise ValueError("--to is before --from")
    if last > localtime.to_local(utcnow()).date():
        raise ValueError("--to is in the future")
    rows = rebuild(corp_id, first, last)
    db.session.commit()
    result = {"group_rows": rows, "owner_rows": 0, "days_pulled": 0, "days_skipped": 0}
    if pull:
        day = first
        while day <= last:
            if pullable(day):
                result["owner_rows"] += pull_day(corp_id, day, sleep=sleep)
                db.session.commit()
                result["days_pulled"] += 1
            else:
                result["days_skipped"] += 1
            day += timedelta(days=1)
    return result
