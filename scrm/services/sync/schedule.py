"""The nightly reconciliation: a full sync of every corp once a day, at SCRM_NIGHTLY_SYNC_AT
(default 03:00) in the corp's local time (SCRM_TIMEZONE, scrm.services.localtime).

The sweep runs every minute; from the configured time until the end of that local day it
starts the day's run of each corp that has none yet. The run's trigger key ("nightly:<date>")
is unique per corp in the database, so any number of schedulers or `flask scrm tick` calls start
it once. A corp busy with another sync gets its nightly run at the next tick after that one ends.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import SyncRun
from scrm.services import localtime
from scrm.services.corps import corps_to_sync
from scrm.services.sync import runs

log = logging.getLogger(__name__)




def start_nightly(now: datetime | None = None) -> int:
    """Start today's nightly full sync of each corp when it is due. Returns how many started."""
    at = settings().nightly_sync_at
    if not at:
        return 0
    local = (now or utcnow()).replace(tzinfo=UTC).astimezone(localtime.zone())
    if local.strftime("%H:%M") < at:
        return 0
    key = f"nightly:{local.date().isoformat()}"
    started = 0
    for corp_id in corps_to_sync():
        if db.session.scalar(select(SyncRun.id).filter_by(corp_id=corp_id, trigger_key=key)) is not None:
            continue
        try:
            runs.start(corp_id, full=True, requested_by="nightly", trigger_key=key)
            started += 1
        except runs.AlreadyRunning as exc:
            log.info("nightly sync of %s waits: %s", corp_id, exc)
    db.session.rollback()
    return started
