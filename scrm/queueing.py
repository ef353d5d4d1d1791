"""Queue names, default job options, job ids, enqueue-after-commit and the periodic sweep table.

Every job goes through `enqueue()` so connection, JSON serializer and TTLs are pinned in one
place (the redash pattern). Jobs receive ids, never ORM objects.
"""
from __future__ import annotations

import importlib
import logging
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from flask import current_app
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    job_timeout: int  # seconds a job may run
    ttl: int  # seconds a job may wait in the queue before it is dropped (the inbox sweep re-enqueues)
    result_ttl: int = 0  # results are not read; the database holds outcomes
    failure_ttl: int = 7 * 24 * 3600


# Named by latency. `welcome` is reserved for send_welcome_msg (20 s window) and has its own worker.
QUEUES: dict[str, QueueSpec] = {q.name: q for q in (
    QueueSpec("welcome", job_timeout=15, ttl=20),
    QueueSpec("callbacks", job_timeout=60, ttl=3600),
    QueueSpec("messages", job_timeout=60, ttl=6 * 3600),
    QueueSpec("sync", job_timeout=6 * 3600, ttl=24 * 3600),
    QueueSpec("periodic", job_timeout=300, ttl=600),
)}
DEFAULT_WORKER_QUEUES = ("callbacks", "messages", "sync", "periodic")


def redis_connection() -> redis.Redis:
    return current_app.extensions["redis"]


# Queue objects hold no per-call state; building one (serializer resolution) cost a tenth of
# an enqueue, so each connection keeps its own.
_queues: weakref.WeakKeyDictionary[redis.Redis, dict[str, Queue]] = weakref.WeakKeyDictionary()


def get_queue(name: str, connection: redis.Redis | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    connection = connection or redis_connection()
    queues = _queues.get(connection)
    if queues is None:
        queues = _queues.setdefault(connection, {})
    queue = queues.get(name)
    if queue is None:
        queue = queues[name] = Queue(name, connection=connection, serializer=JSONSerializer)
    return queue


_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED}


def enqueue(func: str, *args: Any, queue: str, job_id: str | None = None, delay: float = 0,
            unique: bool = False, connection: redis.Redis | None = None, meta: dict | None = None):
    """Enqueue `func` (a dotted path) on `queue`. Returns the job, or None when `unique` and a
    job with that id is still waiting or running (a finished or failed one is replaced). `meta`:
    what a worker may read before running the job (RQ's job.meta), never needed to run it."""
    spec = QUEUES[queue]
    q = get_queue(queue, connection)
    if unique and job_id:
        existing = q.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=False) in _WAITING:
            return None
    opts = dict(job_id=job_id, job_timeout=spec.job_timeout, result_ttl=spec.result_ttl,
                failure_ttl=spec.failure_ttl, ttl=spec.ttl, meta=meta)
    if delay > 0:
        return q.enqueue_in(timedelta(seconds=delay), func, *args, **opts)
    # One round trip: without a pipeline RQ sends the queue registration and the job separately.
    # No MULTI/EXEC: parsing a QUEUED reply per command cost more than the send; the commands
    # still run in order, and a job hash without its queue entry is found by the inbox sweep.
    with q.connection.pipeline(transaction=False) as pipe:
        job = q.enqueue_call(func, args=args, timeout=spec.job_timeout, result_ttl=spec.result_ttl,
                             failure_ttl=spec.failure_ttl, ttl=spec.ttl, job_id=job_id, meta=meta, pipeline=pipe)
        pipe.execute()
    return job


def enqueue_many(func: str, calls: list[tuple[str, tuple]], *, queue: str,
                 connection: redis.Redis | None = None, job_timeout: int | None = None) -> None:
    """Enqueue ``func`` once per (job id, args) in ``calls``, in one pipeline (same options as
    enqueue(), the queue's time limit unless ``job_timeout``; no uniqueness check)."""
    spec = QUEUES[queue]
    q = get_queue(queue, connection)
    with q.connection.pipeline(transaction=False) as pipe:
        q.enqueue_many([Queue.prepare_data(func, args=args, job_id=job_id, timeout=job_timeout or spec.job_timeout,
                                           result_ttl=spec.result_ttl, failure_ttl=spec.failure_ttl,
                                           ttl=spec.ttl) for job_id, args in calls], pipeline=pipe)
        pipe.execute()


def enqueue_after_commit(session: Session, func: str, *args: Any, **kwargs: Any) -> None:
    """Enqueue once `session` commits (never before: the worker could run before the row
    exists). Dropped on rollback. If Redis is down the work is not lost: the sweeps find it
    from the database."""
    session.info.setdefault("scrm_after_commit", []).append((func, args, kwargs))


@event.listens_for(Session, "after_commit")
def _flush_after_commit(session: Session) -> None:
    for func, args, kwargs in session.info.pop("scrm_after_commit", []):
        try:
            enqueue(func, *args, **kwargs)
        except redis.RedisError as exc:
            log.warning("enqueue of %s failed, left for the sweep: %s", func, exc)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop("scrm_after_commit", None)


# ---- the periodic sweeps ------------------------------------------------------------------------
# The scheduler (scrm/worker.py) enqueues SWEEP_JOB with a sweep's name every `every_seconds`;
# `flask scrm tick` runs them all in-process. Jobs are named by dotted path: the core never imports
# jobs/, it only names them (as RQ does).

@dataclass(frozen=True)
class Sweep:
    name: str
    job: str  # dotted path of the job function: job(now: datetime | None) -> int
    every_seconds: int

    def run(self, now: datetime | None = None) -> int:
        """Call the job function here, in this process (`flask scrm tick`, the sweep job)."""
        module, _, name = self.job.rpartition(".")
        return getattr(importlib.import_module(module), name)(now)


SWEEP_JOB = "jobs.periodic.run_sweep"
SWEEPS: tuple[Sweep, ...] = (
    Sweep("drain-spool", "jobs.periodic.drain_spool", every_seconds=15),
    Sweep("sweep-inbox", "jobs.periodic.sweep_inbox", every_seconds=30),
    Sweep("sop-steps", "jobs.periodic.sop_steps", every_seconds=60),  # due SOP tasks and mass-send result checks
    Sweep("group-sop", "jobs.periodic.group_sops", every_seconds=60),  # plan, run and check group SOP executions
    Sweep("handover", "jobs.periodic.handovers", every_seconds=60),  # 离职继承 / 在职转接: run and poll
    Sweep("renew-media", "jobs.periodic.renew_media", every_seconds=600),  # media_ids before their 3-day expiry
    Sweep("nightly-sync", "jobs.periodic.nightly_sync", every_seconds=60),
    Sweep("resume-syncs", "jobs.periodic.resume_syncs", every_seconds=60),
    Sweep("follow-up-reminders", "jobs.periodic.follow_up_reminders", every_seconds=60),  # sidebar 跟进记录
    Sweep("group-stats", "jobs.periodic.group_stats_nightly", every_seconds=60),  # once a local day
    Sweep("churn-scoring", "jobs.periodic.churn_scoring", every_seconds=60),  # once a local day
    # after churn-scoring: recalls from its level changes, outcomes, due deliveries and result checks
    Sweep("recall", "jobs.periodic.recalls", every_seconds=60),
    # deletion alerts within a minute, the daily dormant digest (docs/churn-alerts.md)
    Sweep("churn-alerts", "jobs.periodic.churn_alerts", every_seconds=15),
    # manager reports (docs/reports.md): the nightly aggregation after churn-scoring, today's rows
    Sweep("reports", "jobs.periodic.reports_nightly", every_seconds=60),  # once a local day
    Sweep("reports-today", "jobs.periodic.reports_today", every_seconds=300),
    # the morning digest at SCRM_DIGEST_AT, after the night's aggregation (docs/reports.md)
    Sweep("digest", "jobs.periodic.morning_digest", every_seconds=60),
    Sweep("mass-messages", "jobs.periodic.mass_message_tasks", every_seconds=60),  # 群发 to segments
    Sweep("bulk-jobs", "jobs.periodic.bulk_jobs", every_seconds=60),  # bulk tags, SOP starts, reassignments
    Sweep("purge-personal-data", "jobs.privacy.purge_personal_data", every_seconds=3600),  # retention (PIPL)
)


def sweep_named(name: str) -> Sweep:
    return next(sweep for sweep in SWEEPS if sweep.name == name)

