"""The ``bulk-jobs`` sweep (every minute, and `flask scrm tick`): reassign items follow their
transfers; jobs queued (their run job lost), given back for later, or whose worker died (lease
expired) are enqueued again on the ``messages`` queue with a stable id (the claim makes each run
once anyway)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import BulkJob, BulkStatus
from scrm.queueing import enqueue
from scrm.services.bulk import reassign

RUN_JOB = "jobs.bulk.run"
LIMIT = 1000


def sweep(now: datetime | None = None) -> int:
    now = now or utcnow()
    reassign.follow(now)
    db.session.commit()
    due = db.session.scalars(select(BulkJob.id).where(
        BulkJob.status.in_((BulkStatus.QUEUED, BulkStatus.RUNNING)),
        or_(BulkJob.lease_until.is_(None), BulkJob.lease_until <= now)).order_by(BulkJob.id).limit(LIMIT)).all()
    return sum(enqueue(RUN_JOB, job_id, queue="messages", job_id=f"bulk-run-{job_id}", unique=True) is not None
               for job_id in due)
