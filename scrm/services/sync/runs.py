"""SyncRun rows: start, claim, checkpoint, finish, cancel, resume. Each function owns its commit.

One sync per corp at a time is the database's job: a partial unique index admits one queued or
running row per corp (models/sync.py), so two requests racing both INSERT and one gets
AlreadyRunning. A run is claimed by one process at a time: the claim stamps a random `runner`
token, every checkpoint is written only `WHERE runner = <token> AND status = 'running'`, and a
run whose heartbeat is older than STALE_AFTER may be claimed again (the process died) and
continues from its checkpoint.
"""
from __future__ import annotations

import logging
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import SyncRun, SyncStatus
from scrm.models.sync import ACTIVE_STATUSES, SCOPES
from scrm.queueing import enqueue, enqueue_after_commit
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)  # no heartbeat for this long: the process is gone
QUEUED_GRACE = timedelta(minutes=5)  # a queued run older than this gets its job re-sent
MAX_ERRORS = 100  # errors kept on the row (error_count counts them all)
RUN_JOB = "jobs.sync.run_sync"


class AlreadyRunning(Exception):
    def __init__(self, run: SyncRun | None):
        super().__init__(f"a sync is already queued or running for this corp (run {run and run.id})")
        self.run = run


class Lost(Exception):
    """The run is no longer ours: cancelled, or claimed by another process after we stalled."""


def _stalled(now: datetime):
    """SQL: running, but no heartbeat for STALE_AFTER (the process that claimed it is gone)."""
    return (SyncRun.status == SyncStatus.RUNNING) & or_(SyncRun.heartbeat_at.is_(None),
                                                        SyncRun.heartbeat_at < now - STALE_AFTER)


def job_id(run: SyncRun) -> str:
    return f"sync-{run.id}-{run.attempts}"


def active_run(corp_id: str) -> SyncRun | None:
    return db.session.scalar(select(SyncRun).where(SyncRun.corp_id == corp_id,
                                                    SyncRun.status.in_(ACTIVE_STATUSES)))


def normalise_scopes(only: list[str] | str | None) -> list[str]:
    if only is None or only == [] or only == "":
        return list(SCOPES)
    wanted = [part.strip() for part in (only.split(",") if isinstance(only, str) else only) if part.strip()]
    unknown = sorted(set(wanted) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
    return [scope for scope in SCOPES if scope in wanted]


def start(corp_id: str, scopes: list[str] | None = None, *, full: bool = False, requested_by: str | None = None,
          trigger_key: str | None = None, enqueue_job: bool = True) -> SyncRun:
    """A new queued run (and its job on the `sync` queue, sent after the commit).

    Raises AlreadyRunning when the corp has a queued or running one, or (with `trigger_key`)
    when that key was already used."""
    scopes = normalise_scopes(scopes)
    run = SyncRun(corp_id=corp_id, scopes=scopes, full=full, status=SyncStatus.QUEUED,
                  progress={scope: {"status": "pending", "done": 0, "total": None, "errors": 0} for scope in scopes},
                  checkpoint={}, plan={}, errors=[], requested_by=requested_by, trigger_key=trigger_key)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyRunning(active_run(corp_id)) from None
    if enqueue_job:
        enqueue_after_commit(db.session, RUN_JOB, run.id, queue="sync", job_id=job_id(run), unique=True)
    db.session.commit()
    log.info("sync run %s queued for %s: %s%s", run.id, corp_id, ",".join(scopes), " (full)" if full else "")
    return run


def claim(run_id: int, runner: str, now: datetime | None = None) -> bool:
    """Take the run if it is queued, or running with a stale heartbeat. Commits."""
    now = now or utcnow()
    result = db.session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id, or_(SyncRun.status == SyncStatus.QUEUED, _stalled(now)))
        .values(status=SyncStatus.RUNNING, runner=runner, attempts=SyncRun.attempts + 1, heartbeat_at=now,
                started_at=db.func.coalesce(SyncRun.started_at, now), finished_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


@dataclass
class RunState:
    """The mutable part of a claimed run, written back by `save` inside the caller's transaction."""
    id: int
    corp_id: str
    runner: str
    scopes: list[str]
    full: bool
    stage: str | None
    progress: dict[str, dict[str, Any]]
    checkpoint: dict[str, Any]
    plan: dict[str, Any]
    errors: list[dict[str, Any]]
    error_count: int
    attempts: int
    started_at: datetime | None = None
    status: str = SyncStatus.RUNNING

    @classmethod
    def load(cls, run_id: int, runner: str) -> RunState:
        row = db.session.get(SyncRun, run_id, populate_existing=True)
        if row is None or row.runner != runner:
            raise Lost(f"run {run_id} is not ours")
        return cls(id=row.id, corp_id=row.corp_id, runner=runner, scopes=list(row.scopes), full=row.full,
                   stage=row.stage, progress=deepcopy(row.progress or {}), checkpoint=deepcopy(row.checkpoint or {}),
                   plan=deepcopy(row.plan or {}), errors=list(row.errors or []), error_count=row.error_count,
                   attempts=row.attempts, started_at=row.started_at)

    def add_error(self, stage: str, api: str | None, errcode: int | None, errmsg: str, item: str | None = None,
                  at: datetime | None = None) -> None:
        self.error_count += 1
        self.progress[stage]["errors"] = self.progress[stage].get("errors", 0) + 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"stage": stage, "api": api, "errcode": errcode, "errmsg": errmsg[:500],
                                "item": item, "at": (at or utcnow()).isoformat(timespec="seconds")})

    def save(self, *, plan: bool = False, now: datetime | None = None) -> None:
        """Write progress, checkpoint and errors (and the plan) with a heartbeat, in the current
        transaction. Raises Lost when the run was cancelled or taken over meanwhile."""
        values: dict[str, Any] = {"stage": self.stage, "progress": deepcopy(self.progress),
                                  "checkpoint": deepcopy(self.checkpoint), "errors": list(self.errors),
                                  "error_count": self.error_count, "heartbeat_at": now or utcnow()}
        if plan:
            values["plan"] = deepcopy(self.plan)
        result = db.session.execute(
            update(SyncRun).where(SyncRun.id == self.id, SyncRun.runner == self.runner,
                                  SyncRun.status == SyncStatus.RUNNING)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Lost(f"run {self.id} was cancelled or taken over")

    def finish(self, status: SyncStatus) -> None:
        """Final status (in the current transaction; the caller commits)."""
        now = utcnow()
        self.save(now=now)
        values: dict[str, Any] = {"status": status, "finished_at": now}
        if status == SyncStatus.SUCCEEDED:
            values["checkpoint"] = {}  # a failed run keeps it: `resume` continues from there
        db.session.execute(update(SyncRun).where(SyncRun.id == self.id, SyncRun.runner == self.runner)
                           .values(**values).execution_options(synchronize_session=False))
        self.status = status


def fail(state: RunState, exc: BaseException) -> None:
    """Record the error that stopped the run and mark it failed (resumable with `resume`)."""
    db.session.rollback()
    stage = state.stage or (state.scopes[0] if state.scopes else "staff")
    state.progress.setdefault(stage, {"status": "running", "done": 0, "total": None, "errors": 0})
    if isinstance(exc, WeComError):
        state.add_error(stage, exc.api, exc.errcode, exc.errmsg)
    else:
        state.add_error(stage, None, None, f"{type(exc).__name__}: {exc}")
    try:
        state.finish(SyncStatus.FAILED)
        db.session.commit()
    except Lost:
        db.session.rollback()


def requeue(state: RunState) -> None:
    """Give the run back to the queue, to continue from its checkpoint (e.g. after a job timeout)."""
    db.session.rollback()
    db.session.execute(update(SyncRun).where(SyncRun.id == state.id, SyncRun.runner == state.runner,
                                             SyncRun.status == SyncStatus.RUNNING)
                       .values(status=SyncStatus.QUEUED, runner=None)
                       .execution_options(synchronize_session=False))
    enqueue_after_commit(db.session, RUN_JOB, state.id, queue="sync", job_id=f"sync-{state.id}-{state.attempts}",
                         unique=True)
    db.session.commit()


def cancel(run_id: int, corp_id: str | None = None) -> SyncRun | None:
    """Cancel a queued or running run; a running one stops at its next checkpoint."""
    query = update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(ACTIVE_STATUSES))
    if corp_id is not None:
        query = query.where(SyncRun.corp_id == corp_id)
    db.session.execute(query.values(status=SyncStatus.CANCELLED, finished_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.get(SyncRun, run_id, populate_existing=True)


def resumable(corp_id: str, now: datetime | None = None) -> SyncRun | None:
    """The corp's latest run if it can be continued: failed, or running without a heartbeat."""
    latest = select(func.max(SyncRun.id)).where(SyncRun.corp_id == corp_id).scalar_subquery()
    return db.session.scalar(select(SyncRun).where(
        SyncRun.id == latest, or_(SyncRun.status == SyncStatus.FAILED, _stalled(now or utcnow()))))


def resume(corp_id: str, *, enqueue_job: bool = True, now: datetime | None = None) -> SyncRun:
    """Queue the corp's failed or stalled run again; it continues from its checkpoint.
    Raises LookupError when there is none, AlreadyRunning when another run is active."""
    run = resumable(corp_id, now)
    if run is None:
        active = active_run(corp_id)
        if active is not None:
            raise AlreadyRunning(active)
        raise LookupError(f"corp {corp_id} has no failed or stalled sync run to resume")
    try:
        db.session.execute(update(SyncRun).where(SyncRun.id == run.id, SyncRun.status == run.status)
                           .values(status=SyncStatus.QUEUED, runner=None, finished_at=None)
                           .execution_options(synchronize_session=False))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyRunning(active_run(corp_id)) from None
    if enqueue_job:
        enqueue_after_commit(db.session, RUN_JOB, run.id, queue="sync", job_id=job_id(run), unique=True)
    db.session.commit()
    return db.session.get(SyncRun, run.id, populate_existing=True)


def resend_jobs(now: datetime | None = None) -> int:
    """The sweep: runs whose process died (stale heartbeat) or whose job never arrived (Redis
    lost it) get a job again. Returns how many jobs were sent."""
    now = now or utcnow()
    rows = db.session.scalars(select(SyncRun).where(or_(
        _stalled(now), (SyncRun.status == SyncStatus.QUEUED) & (SyncRun.created_at < now - QUEUED_GRACE)))).all()
    sent = 0
    for run in rows:
        if enqueue(RUN_JOB, run.id, queue="sync", job_id=job_id(run), unique=True) is not None:
            log.warning("sync run %s (%s) had no live job; sent one", run.id, run.status)
            sent += 1
    db.session.rollback()
    return sent
