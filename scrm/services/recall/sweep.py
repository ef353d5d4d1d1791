"""The ``recall`` sweep (every minute, after ``churn-scoring`` in the sweep table, and
`flask scrm tick`): recalls from the nightly run's level changes, outcomes decided, recalls whose
worker died failed, due recalls and due result checks enqueued on the ``messages`` queue (stable
job ids: a recall is enqueued once however many schedulers tick; the job's claim makes it run
once anyway)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import PlaybookStatus, Recall, RecallPlaybook, RecallStatus
from scrm.queueing import enqueue
from scrm.services.recall import outcomes, trigger

INTERRUPTED_AFTER = timedelta(minutes=10)  # a recall RUNNING this long lost its worker: failed
SWEEP_BATCH = 1000
RUN_JOB, CHECK_JOB = "jobs.recall.run_recall", "jobs.recall.check_recall"


def sweep(now: datetime | None = None) -> int:
    """Returns the number of recalls created plus jobs enqueued."""
    now = now or utcnow()
    created = trigger.scan(now)
    outcomes.settle(now)
    db.session.execute(update(Recall).where(
        Recall.status == RecallStatus.RUNNING, Recall.started_at < now - INTERRUPTED_AFTER)
        .values(status=RecallStatus.FAILED, error="interrupted (never retried: a recall goes out at most once)",
                finished_at=now))
    db.session.commit()
    due = db.session.scalars(
        select(Recall.id).join(RecallPlaybook, RecallPlaybook.id == Recall.playbook_id)
        .where(Recall.status == RecallStatus.PENDING, Recall.due_at <= now,
               RecallPlaybook.status == PlaybookStatus.ACTIVE)
        .order_by(Recall.due_at, Recall.id).limit(SWEEP_BATCH)).all()
    checks = db.session.scalars(
        select(Recall.id).where(Recall.status == RecallStatus.AWAITING, Recall.next_check_at <= now)
        .order_by(Recall.next_check_at).limit(SWEEP_BATCH)).all()
    as_of = now.isoformat()
    queued = 0
    for recall_id in due:
        queued += enqueue(RUN_JOB, recall_id, as_of, queue="messages", job_id=f"recall-{recall_id}",
                          unique=True) is not None
    for recall_id in checks:
        queued += enqueue(CHECK_JOB, recall_id, as_of, queue="messages", job_id=f"recall-check-{recall_id}",
                          unique=True) is not None
    return created + queued
