"""The ``mass-messages`` sweep (every minute, and `flask scrm tick`): builds still queued (their
job lost), tasks due to be created or retried, result checks due; tasks whose worker died while
creating them failed (never created twice); messages whose tasks are all settled done. Jobs go on
the ``messages`` queue with stable ids (enqueued once however many schedulers tick; the claims
make each run once anyway)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import MassMessage, MassMessageRecipient, MassMessageStatus, MassMessageTask, MassRecipientStatus
from scrm.models import MassTaskStatus as T
from scrm.queueing import enqueue
from scrm.services.mass_messages.delivery import settle

INTERRUPTED_AFTER = timedelta(minutes=10)
BATCH = 1000
BUILD_JOB, RUN_JOB, CHECK_JOB = ("jobs.mass_messages.build", "jobs.mass_messages.run_task",
                                 "jobs.mass_messages.check_task")


def sweep(now: datetime | None = None) -> int:
    now = now or utcnow()
    stuck = db.session.scalars(update(MassMessageTask).where(
        MassMessageTask.status == T.RUNNING, MassMessageTask.started_at < now - INTERRUPTED_AFTER)
        .values(status=T.FAILED, error="interrupted while being created (never retried: it may exist in WeCom)",
                finished_at=now).returning(MassMessageTask.id)).all()
    if stuck:
        db.session.execute(update(MassMessageRecipient).where(
            MassMessageRecipient.task_id.in_(stuck),
            MassMessageRecipient.status.in_((MassRecipientStatus.QUEUED, MassRecipientStatus.WAITING)))
            .values(status=MassRecipientStatus.NOT_SENT))
    settle(now)
    db.session.commit()
    builds = db.session.scalars(select(MassMessage.id).where(MassMessage.status == MassMessageStatus.QUEUED)
                                .order_by(MassMessage.id).limit(BATCH)).all()
    runs = db.session.scalars(select(MassMessageTask.id).where(
        MassMessageTask.status == T.PENDING,
        or_(MassMessageTask.next_check_at.is_(None), MassMessageTask.next_check_at <= now))
        .order_by(MassMessageTask.id).limit(BATCH)).all()
    checks = db.session.scalars(select(MassMessageTask.id).where(
        MassMessageTask.status == T.AWAITING, MassMessageTask.next_check_at <= now)
        .order_by(MassMessageTask.next_check_at).limit(BATCH)).all()
    queued = 0
    for message_id in builds:
        queued += enqueue(BUILD_JOB, message_id, queue="messages", job_id=f"mass-build-{message_id}",
                          unique=True) is not None
    for task_id in runs:
        queued += enqueue(RUN_JOB, task_id, queue="messages", job_id=f"mass-task-{task_id}", unique=True) is not None
    for task_id in checks:
        queued += enqueue(CHECK_JOB, task_id, queue="messages", job_id=f"mass-check-{task_id}",
                          unique=True) is not None
    return queued
