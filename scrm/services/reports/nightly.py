"""When the report aggregates are written: the nightly run (the sweep "reports"), today's
refresh (the sweep "reports-today") and `flask scrm reports rebuild`.

* Nightly, once the corp-local clock passes SCRM_REPORTS_AT (default 05:00, after the nightly
  sync, the group statistics and the churn run), per corp: the last REBUILD_DAYS local days up to
  yesterday are rebuilt with their stocks counted from the sources (late archive pulls, first
  replies to late adds, relations a sync found late), then today from yesterday's rows. A
  ReportRun row per corp and local day makes it run once however many schedulers tick; a failed
  run is tried again by later ticks, at most MAX_ATTEMPTS times that day.
* Today's rows are refreshed every few minutes from the day's events: the stocks start from the
  last day that has rows (yesterday, normally) instead of a count of history, and only the next
  follow-ups that can start or stop today are looked at (staff_day._overdue_intervals).
* A rebuild recomputes any past range from the sources; each aggregate is idempotent (delete +
  insert … select of the range), so a rebuild over the nightly days gives the nightly's rows.

AGGREGATES lists the report aggregates in the order they are built; the channel, funnel, group
and churn reports (issue #15, later parts) add theirs there.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import ReportRun, StaffDailyStat
from scrm.services import localtime
from scrm.services.daily_runs import claim_daily_run
from scrm.services.reports import (
    channel_day,
    churn_day,
    group_owner_day,
    group_sop_day,
    recall_day,
    risk_day,
    staff_day,
    staff_month,
    stage_day,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
REBUILD_DAYS = 3
CATCH_UP_DAYS = 31  # today's refresh walks forward from the last day with rows, at most this far
STALE_RUN = timedelta(minutes=30)
MAX_REBUILD_DAYS = 3660

# name → build(corp_id, first, last, *, incremental) -> rows written (the caller commits)
AGGREGATES = {"staff_day": staff_day.build, "staff_month": staff_month.build, "stage_day": stage_day.build,
              "channel_day": channel_day.build,
              "group_owner_day": group_owner_day.build, "group_sop_day": group_sop_day.build,
              "churn_day": churn_day.build, "risk_day": risk_day.build, "recall_day": recall_day.build}


def build_all(corp_id: str, first: date, last: date, *, incremental: bool) -> dict:
    return {name: build(corp_id, first, last, incremental=incremental) for name, build in AGGREGATES.items()}


def run_nightly(now: datetime | None = None) -> int:
    """The sweep: each corp's run once per local day after SCRM_REPORTS_AT. Returns how many corps
    ran to completion in this call."""
    from scrm.services.sync.schedule import corps_to_sync

    at = settings().reports_at
    now = now or utcnow()
    local = localtime.to_local(now)
    if not at or local.strftime("%H:%M") < at:
        return 0
    done = 0
    for corp_id in corps_to_sync():
        run = claim_daily_run(ReportRun, corp_id, local.date(), now, max_attempts=MAX_ATTEMPTS,
                              stale_after=STALE_RUN)
        if run is not None:
            done += _run(run)
    return done


def _run(run: ReportRun) -> int:
    corp_id, run_id, today = run.corp_id, run.id, run.run_day
    yesterday = today - timedelta(days=1)
    try:
        figures = build_all(corp_id, yesterday - timedelta(days=REBUILD_DAYS - 1), yesterday, incremental=False)
        build_all(corp_id, today, today, incremental=True)
        db.session.commit()
    except SQLAlchemyError as exc:  # recorded, tried again by a later tick
        db.session.rollback()
        _finish(run_id, status="failed", error=f"{type(exc).__name__}"[:500])
        log.warning("report aggregation of %s failed: %s", corp_id, type(exc).__name__)
        return 0
    _finish(run_id, status="done", rows=sum(figures.values()), error=None)
    log.info("report aggregation of %s: %s", corp_id, figures)
    return 1


def _finish(run_id: int, **values) -> None:
    db.session.execute(update(ReportRun).where(ReportRun.id == run_id).values(finished_at=utcnow(), **values))
    db.session.commit()


def refresh_today(now: datetime | None = None) -> int:
    """The sweep: each corp's rows of today (and of any day since its last rows) from the day's
    events. Returns the corps refreshed."""
    from scrm.services.sync.schedule import corps_to_sync

    today = localtime.to_local(now or utcnow()).date()
    refreshed = 0
    for corp_id in corps_to_sync():
        refresh_corp(corp_id, today)
        db.session.commit()
        refreshed += 1
    return refreshed


def refresh_corp(corp_id: str, today: date) -> dict:
    """Rows from the day after the corp's last day with rows (at most CATCH_UP_DAYS back) to today;
    the caller commits."""
    last = db.session.scalar(select(func.max(StaffDailyStat.day)).where(
        StaffDailyStat.corp_id == corp_id, StaffDailyStat.day < today,
        StaffDailyStat.day >= today - timedelta(days=CATCH_UP_DAYS)))
    first = today if last is None else last + timedelta(days=1)
    return build_all(corp_id, first, today, incremental=True)


def rebuild(corp_id: str, first: date, last: date, now: datetime | None = None) -> dict:
    """`flask scrm reports rebuild`: every aggregate of local days first..last from the sources
    (not after today); commits."""
    today = localtime.to_local(now or utcnow()).date()
    if last < first:
        raise ValueError("--to is before --from")
    if last > today:
        raise ValueError("--to is after today")
    if (last - first).days + 1 > MAX_REBUILD_DAYS:
        raise ValueError(f"at most {MAX_REBUILD_DAYS} days at once")
    figures = build_all(corp_id, first, last, incremental=False)
    db.session.commit()
    return figures
