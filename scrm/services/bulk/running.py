"""The run job: a job claimed for a lease, its items written once, then processed a batch at a time.

The claim is one UPDATE (``queued`` or ``running`` with no live lease → ``running`` with a
lease of LEASE): one run at a time however often the job is enqueued. The first run writes the
items: one INSERT … SELECT of the audience's relations (scrm/services/audience.py). Each batch of
BATCH pending items is processed by the kind's module, which commits the items' outcomes with
their side effects; the job's figures are then counted and its lease renewed. After
BATCHES_PER_RUN batches or RUN_SECONDS the run gives the job back (lease_until = now) and enqueues
the next run; a retryable WeCom failure gives it back with a delay. A worker that dies holds its
lease until it expires; the ``bulk-jobs`` sweep then enqueues the job again and the next run goes
on with the items still pending (a batch cut short is redone: mark_tag and enrolment are
idempotent). A cancelled job's run stops at the next batch.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import func, insert, literal, or_, select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import BulkItemStatus, BulkJob, BulkJobItem, BulkKind, BulkStatus
from scrm.queueing import enqueue
from scrm.services.audience import relations
from scrm.services.bulk import reassign, sop_start, tags
from scrm.services.bulk.queries import count

RUN_JOB = "jobs.bulk.run"
LEASE = timedelta(minutes=5)
BATCH = 100
BATCHES_PER_RUN = 10
RUN_SECONDS = 40.0  # the messages queue's jobs may run 60 s
PROCESS = {BulkKind.ADD_TAGS: tags.process, BulkKind.REMOVE_TAGS: tags.process,
           BulkKind.START_SOP: sop_start.process}


def claim(job_id: int, now: datetime) -> bool:
    claimed = db.session.execute(update(BulkJob).where(
        BulkJob.id == job_id, BulkJob.status.in_((BulkStatus.QUEUED, BulkStatus.RUNNING)),
        or_(BulkJob.lease_until.is_(None), BulkJob.lease_until <= now))
        .values(status=BulkStatus.RUNNING, lease_until=now + LEASE, runs=BulkJob.runs + 1,
                started_at=func.coalesce(BulkJob.started_at, now))).rowcount
    db.session.commit()
    return bool(claimed)


def _running(job_id: int, **values) -> bool:
    """Set ``values`` while the job is still running (not cancelled meanwhile). Commits."""
    changed = db.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.status == BulkStatus.RUNNING)
                                 .values(**values)).rowcount
    db.session.commit()
    return bool(changed)


def build(job: BulkJob, now: datetime) -> None:
    """The items: one per active relation of the audience (commits)."""
    audience = relations(job.corp_id, job.audience).subquery()
    rows = select(literal(job.corp_id), literal(job.id), audience.c.relation_id, audience.c.external_userid,
                  audience.c.userid, literal(str(BulkItemStatus.PENDING)), literal(0))
    db.session.execute(insert(BulkJobItem).from_select(
        ["corp_id", "job_id", "relation_id", "external_userid", "userid", "status", "attempts"], rows))
    total = db.session.scalar(select(func.count()).select_from(BulkJobItem).where(BulkJobItem.job_id == job.id))
    db.session.execute(update(BulkJob).where(BulkJob.id == job.id).values(total=total, built_at=now))
    db.session.commit()


def finish(job_id: int, now: datetime, status: str = BulkStatus.DONE, error: str | None = None) -> None:
    count(job_id)
    _running(job_id, status=status, error=error, finished_at=now, lease_until=None)


def run(job_id: int) -> str:
    now = utcnow()
    if not claim(job_id, now):
        return "skipped"
    job = db.session.get(BulkJob, job_id)
    if job.built_at is None:
        try:
            build(job, now)
        except ValueError as exc:  # an audience the service cannot resolve any more (a deleted segment)
            db.session.rollback()
            finish(job_id, now, BulkStatus.FAILED, str(exc))
            return "failed"
    if job.kind == BulkKind.REASSIGN:
        return reassign.run(job, now)
    started = time.monotonic()
    for _ in range(BATCHES_PER_RUN):
        db.session.refresh(job)
        if job.status != BulkStatus.RUNNING:
            return job.status
        items = list(db.session.scalars(select(BulkJobItem).where(
            BulkJobItem.job_id == job.id, BulkJobItem.status == BulkItemStatus.PENDING)
            .order_by(BulkJobItem.id).limit(BATCH)))
        if not items:
            finish(job.id, utcnow())
            return "done"
        try:
            wait = PROCESS[job.kind](job, items, utcnow())
        except sop_start.SopGone as exc:
            _fail_pending(job.id, str(exc), utcnow())
            finish(job.id, utcnow(), BulkStatus.FAILED, str(exc))
            return "failed"
        count(job.id)
        if wait is not None:  # WeCom asked us to slow down: the sweep resumes it after the wait
            _running(job.id, lease_until=utcnow() + timedelta(seconds=wait))
            return "retry"
        if not _running(job.id, lease_until=utcnow() + LEASE):
            return "cancelled"
        if time.monotonic() - started > RUN_SECONDS:
            break
    if _running(job.id, lease_until=utcnow()):
        enqueue(RUN_JOB, job.id, queue="messages", job_id=f"bulk-run-{job.id}-{job.runs}")
    return "continued"


def _fail_pending(job_id: int, reason: str, now: datetime) -> None:
    db.session.execute(update(BulkJobItem).where(
        BulkJobItem.job_id == job_id, BulkJobItem.status == BulkItemStatus.PENDING)
        .values(status=BulkItemStatus.FAILED, reason=reason, finished_at=now))
    db.session.commit()
