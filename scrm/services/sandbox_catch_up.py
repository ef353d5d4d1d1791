"""After the sandbox's clock jumped (「时间快进」): every periodic sweep once, for the new time.

Days passed in a moment, nights included, so what the scheduler would have done in them is done
now, as `flask scrm tick` would: each sweep of scrm.queueing.SWEEPS runs once as of the new time.
When the corp-local time of day is still before the nightly churn scoring
(SCRM_CHURN_SCORING_AT), last night's run would not happen until the next night: the nightly
sweeps run first as of last night at that time. The nightly runs catch up on the days in
between themselves (the churn run reads back to its last run, at most 31 days).

Not `tick` itself: that freezes the process-wide clock, and this runs in a worker whose other
threads must keep reading it. A sweep that fails is logged and the others still run.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from scrm import sandbox_clock
from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.queueing import SWEEPS
from scrm.services import localtime

log = logging.getLogger(__name__)

NIGHTLY = ("nightly-sync", "group-stats", "churn-scoring")  # once a local day, after a time of day


def last_scoring_time(now: datetime) -> datetime | None:
    """Last night's scoring time (naive UTC) when ``now`` is before today's, else None."""
    at = settings().churn_scoring_at
    if not at:
        return None
    local = localtime.to_local(now)
    if local.strftime("%H:%M") >= at:
        return None
    return localtime.at_local(local.date() - timedelta(days=1), at)


def catch_up(now: datetime | None = None) -> dict[str, dict[str, int | str]]:
    """Run the sweeps (see the module doc). Returns {as-of time: {sweep: count or error}}."""
    sandbox_clock.refresh()  # this worker may have read the offset just before it moved
    now = now or utcnow()
    passes = [(last_night, NIGHTLY)] if (last_night := last_scoring_time(now)) else []
    passes.append((now, tuple(sweep.name for sweep in SWEEPS)))
    results: dict[str, dict[str, int | str]] = {}
    for at, names in passes:
        done = results.setdefault(at.isoformat(timespec="seconds"), {})
        for sweep in (s for s in SWEEPS if s.name in names):
            try:
                done[sweep.name] = sweep.run(at)
            except Exception as exc:  # noqa: BLE001 - one sweep's failure must not stop the others
                db.session.rollback()
                log.warning("sandbox catch-up: sweep %s failed: %s", sweep.name, type(exc).__name__)
                done[sweep.name] = f"failed: {type(exc).__name__}"
    log.info("sandbox catch-up done: %s", results)
    return results
