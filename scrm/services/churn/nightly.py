"""The nightly churn run (the sweep "churn-scoring") and `flask scrm churn rebuild`.

Once the corp-local clock passes SCRM_CHURN_SCORING_AT (default 04:30, after the nightly sync and
the group statistics), per corp: the activity rows of the last two local days (or from the day
of the last run, at most 31 days: a scheduler that was down catches up) are rebuilt (late
archive pulls), folded into each relation's last interaction, every relation is scored and its
level changes put on the timeline (committed together); then yesterday's behaviour figures are
pulled from WeCom and, when the corp mirrors levels to tags, changed levels are tagged. A
ChurnRun row per corp and local day makes it run once however many schedulers tick; a failed
run (a WeCom error; scoring itself is repeatable) is recorded and tried again by later ticks, at
most MAX_ATTEMPTS times that day.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import ChurnRun
from scrm.services import localtime
from scrm.services.churn import behavior, mirror, score, signals
from scrm.services.customer_search import search_rows
from scrm.services.daily_runs import claim_daily_run
from scrm.services.group_stats.aggregate import local_midnight
from scrm.wecom import WeComError
from scrm.wecom import behavior as wecom_behavior

log = logging.getLogger(__name__)

real_sleep: Callable[[float], None] = time.sleep  # tests replace it (nothing really sleeps)
MAX_ATTEMPTS = 3
COLLECT_DAYS = 2
CATCH_UP_DAYS = 31
STALE_RUN = timedelta(minutes=30)


def _since(corp_id: str, today: date) -> tuple[date, bool]:
    """(first day to collect, whether this is the corp's first run). The last COLLECT_DAYS local
    days, or back to the day of the last run that scored (a scheduler that was down for days
    catches up), at most CATCH_UP_DAYS; the first run collects CATCH_UP_DAYS."""
    last = db.session.scalar(select(func.max(ChurnRun.run_day)).where(
        ChurnRun.corp_id == corp_id, ChurnRun.relations > 0, ChurnRun.run_day < today))
    since = today - timedelta(days=COLLECT_DAYS - 1)
    if last is not None:
        since = min(since, last)
    else:
        since = today - timedelta(days=CATCH_UP_DAYS)
    return max(since, today - timedelta(days=CATCH_UP_DAYS)), last is None


def score_corp(corp_id: str, now: datetime, *, since: date | None = None) -> dict:
    """Signals from ``since`` (default: see _since) to today, then scores; commits. Returns the
    figures. The first run (and a rebuild) folds every activity day into the last interactions."""
    today = localtime.to_local(now).date()
    first_run = True
    if since is None:
        since, first_run = _since(corp_id, today)
    rows = signals.collect(corp_id, since, today)
    # New relations since the day before the window (a relation row changes when it is added).
    touched = None if first_run else local_midnight(since) - timedelta(days=1)
    result = score.score(corp_id, now, today, fold_since=None if first_run else since, touched_since=touched)
    db.session.commit()
    return {"activity_rows": rows, **result}


def run_nightly(now: datetime | None = None, *, sleep: Callable[[float], None] | None = None) -> int:
    """The sweep: each corp's run once per local day after SCRM_CHURN_SCORING_AT. Returns how many
    corps ran to completion in this call."""
    from scrm.services.sync.schedule import corps_to_sync

    at = settings().churn_scoring_at
    now = now or utcnow()
    local = localtime.to_local(now)
    if not at or local.strftime("%H:%M") < at:
        return 0
    done = 0
    for corp_id in corps_to_sync():
        run = _claim(corp_id, local.date(), now)
        if run is not None:
            done += _run(run, now, sleep or real_sleep)
    return done


def _claim(corp_id: str, run_day: date, now: datetime) -> ChurnRun | None:
    """This corp's run for the day, if this caller is the one to do it now."""
    return claim_daily_run(ChurnRun, corp_id, run_day, now, max_attempts=MAX_ATTEMPTS, stale_after=STALE_RUN)


def _run(run: ChurnRun, now: datetime, sleep: Callable[[float], None]) -> int:
    corp_id, run_id = run.corp_id, run.id
    figures = score_corp(corp_id, now)
    search_rows.rebuild(corp_id)  # the customer list's search rows, every night: the safety net
    _finish(run_id, relations=figures["relations"], changes=figures["level_changes"])
    try:
        yesterday = wecom_behavior.wecom_today(now) - timedelta(days=1)
        rows = behavior.pull(corp_id, yesterday, yesterday, sleep=sleep, now=now)
        db.session.commit()
        tagged = mirror.mirror(corp_id, sleep=sleep)
    except (WeComError, LookupError) as exc:
        db.session.rollback()
        _finish(run_id, status="failed", error=str(exc)[:500])
        log.warning("churn run of %s failed: %s", corp_id, exc)
        return 0
    _finish(run_id, status="done", staff_rows=rows, tagged=tagged, error=None)
    log.info("churn run of %s: %s", corp_id, figures)
    return 1


def _finish(run_id: int, **values) -> None:
    if "status" in values:
        values["finished_at"] = utcnow()
    db.session.execute(update(ChurnRun).where(ChurnRun.id == run_id).values(**values))
    db.session.commit()


def rebuild(corp_id: str, first: date, *, pull_from: date | None = None,
            sleep: Callable[[float], None] | None = None) -> dict:
    """`flask scrm churn rebuild`: the activity rows from local day ``first`` to today, the last
    interactions, the scores and levels; with ``pull_from``, WeCom's behaviour figures from that
    day to yesterday (its last 180 days)."""
    now = utcnow()
    today = localtime.to_local(now).date()
    if first > today:
        raise ValueError("--from is in the future")
    result = score_corp(corp_id, now, since=first)
    if pull_from is not None:
        last = wecom_behavior.wecom_today(now) - timedelta(days=1)
        result["staff_rows"] = behavior.pull(corp_id, pull_from, last, sleep=sleep or real_sleep, now=now)
        db.session.commit()
    return result
