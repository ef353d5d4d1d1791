"""What the database and the spool directory say: inbox rows, spool backlog, last sync per corp."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import CallbackEvent, EventStatus, SyncRun

OPEN_STATUSES = (EventStatus.PENDING, EventStatus.FAILED)  # counted whatever their age
RECENT = timedelta(hours=1)


def _age(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else round(max(0.0, (now - since).total_seconds()), 1)


@dataclass(frozen=True)
class InboxStatus:
    pending: int  # waiting to be processed (a worker will claim them, or the sweep re-enqueues)
    failed: int  # given up on (a permanent error, or out of attempts)
    oldest_pending_age_seconds: float | None
    last_hour: dict[str, int]  # rows received in the last hour, by status


def inbox_status(corp_ids: list[str] | None = None) -> InboxStatus:
    """Counts by status: pending and failed rows in all (the index on (status, received_at)
    keeps these cheap), every status for rows received in the last hour."""
    now = utcnow()
    scope = [CallbackEvent.corp_id.in_(corp_ids)] if corp_ids is not None else []
    open_rows = dict(db.session.execute(
        select(CallbackEvent.status, func.count()).where(CallbackEvent.status.in_(OPEN_STATUSES), *scope)
        .group_by(CallbackEvent.status)).all())
    oldest = db.session.scalar(select(func.min(CallbackEvent.received_at))
                               .where(CallbackEvent.status == EventStatus.PENDING, *scope))
    recent = dict(db.session.execute(
        select(CallbackEvent.status, func.count())
        .where(CallbackEvent.received_at >= now - RECENT, *scope).group_by(CallbackEvent.status)).all())
    db.session.rollback()  # read only: end the transaction, hand the connection back
    return InboxStatus(
        pending=open_rows.get(EventStatus.PENDING, 0), failed=open_rows.get(EventStatus.FAILED, 0),
        oldest_pending_age_seconds=_age(oldest, now),
        last_hour={status.value: recent.get(status.value, 0) for status in EventStatus})


@dataclass(frozen=True)
class SpoolStatus:
    directory: str
    files: int  # callbacks spooled while the database was down, not yet drained
    bytes: int
    oldest_age_seconds: float | None


def spool_status() -> SpoolStatus:
    """This host's spool directory (each web host has its own)."""
    directory = settings().spool_dir
    files = total = 0
    oldest: float | None = None
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if not entry.name.endswith((".jsonl", ".draining")):
            continue
        try:
            stat = entry.stat()
        except FileNotFoundError:  # drained meanwhile
            continue
        files += 1
        total += stat.st_size
        oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
    # File times are the host's real clock, not the injectable one.
    return SpoolStatus(directory, files, total,
                       None if oldest is None else round(max(0.0, time.time() - oldest), 1))


@dataclass(frozen=True)
class LastSync:
    id: int
    status: str
    scopes: list[str]
    full: bool
    requested_by: str | None
    created_at: datetime
    finished_at: datetime | None
    error_count: int
    age_seconds: float  # since it was created


def last_syncs(corp_ids: list[str]) -> dict[str, LastSync | None]:
    """Each corp's newest sync run."""
    now = utcnow()
    newest = (select(func.max(SyncRun.id)).where(SyncRun.corp_id.in_(corp_ids))
              .group_by(SyncRun.corp_id).scalar_subquery())
    runs = {run.corp_id: run for run in db.session.scalars(select(SyncRun).where(SyncRun.id.in_(newest)))}
    result = {corp_id: None for corp_id in corp_ids}
    for corp_id, run in runs.items():
        result[corp_id] = LastSync(run.id, run.status, list(run.scopes or []), run.full, run.requested_by,
                                   run.created_at, run.finished_at, run.error_count,
                                   _age(run.created_at, now) or 0.0)
    db.session.rollback()
    return result
