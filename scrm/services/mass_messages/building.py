"""The build job: a queued message's recipients and tasks, set-based.

One INSERT … SELECT writes every recipient: each customer once (through one staff member: the
relation added first among the audience's), ``capped`` when they already have the month's
``monthly_cap`` mass messages from us (counted from earlier messages' recipients that were or
may still be sent), else ``queued`` with a chunk number (10,000 per sender: one WeCom task each).
Then one INSERT … SELECT makes the tasks and one UPDATE points the recipients at them. The claim
(``queued`` → ``sending``) makes the build run once however often it is enqueued.
"""
from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import and_, case, func, insert, literal, select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import MassMessage, MassMessageRecipient, MassMessageStatus, MassMessageTask, MassRecipientStatus
from scrm.models import MassTaskStatus as T
from scrm.queueing import enqueue_after_commit
from scrm.services.audience import relations
from scrm.services.localtime import to_local

RUN_JOB = "jobs.mass_messages.run_task"
TASK_SIZE = 10_000  # add_msg_template: at most 10,000 external_userid per task
Rc = MassMessageRecipient
COUNTED = (MassRecipientStatus.QUEUED, MassRecipientStatus.WAITING, MassRecipientStatus.SENT)


def month_of(at: datetime) -> tuple[int, int]:
    """(yyyymm, days in that month) in the corp's time zone."""
    local = to_local(at)
    return local.year * 100 + local.month, calendar.monthrange(local.year, local.month)[1]


def build(message_id: int) -> str:
    now = utcnow()
    claimed = db.session.execute(update(MassMessage).where(
        MassMessage.id == message_id, MassMessage.status == MassMessageStatus.QUEUED)
        .values(status=MassMessageStatus.SENDING)).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    message = db.session.get(MassMessage, message_id)
    month, days = month_of(message.created_at)
    cap = message.monthly_cap or days
    try:
        _recipients(message, month, cap)
        tasks = _tasks(message)
    except ValueError as exc:  # an audience the service cannot resolve any more (a deleted segment)
        db.session.rollback()
        message = db.session.get(MassMessage, message_id)
        message.status, message.error, message.finished_at = MassMessageStatus.FAILED, str(exc), now
        db.session.commit()
        return "failed"
    counts = dict(db.session.execute(select(Rc.status, func.count()).where(Rc.mass_message_id == message.id)
                                     .group_by(Rc.status)).all())
    message.recipients = sum(counts.values())
    message.capped = counts.get(MassRecipientStatus.CAPPED, 0)
    message.built_at = now
    if not tasks:
        message.status, message.finished_at = MassMessageStatus.DONE, now
        message.error = "no customer to send to" if not message.recipients else "every customer is over the monthly cap"
    for task_id in db.session.scalars(select(MassMessageTask.id).where(MassMessageTask.mass_message_id == message.id)):
        enqueue_after_commit(db.session, RUN_JOB, task_id, queue="messages", job_id=f"mass-task-{task_id}")
    db.session.commit()
    return f"{tasks} tasks"


def _recipients(message: MassMessage, month: int, cap: int) -> None:
    audience = relations(message.corp_id, message.audience).subquery()
    picked = select(audience.c.external_userid, audience.c.userid, func.row_number().over(
        partition_by=audience.c.external_userid, order_by=audience.c.relation_id).label("rn")).subquery()
    earlier = Rc.__table__.alias("earlier")
    received = (select(func.count()).select_from(earlier).where(
        earlier.c.corp_id == message.corp_id, earlier.c.external_userid == picked.c.external_userid,
        earlier.c.month == month, earlier.c.mass_message_id != message.id,
        earlier.c.status.in_([str(s) for s in COUNTED])).scalar_subquery())
    status = case((received >= cap, literal(str(MassRecipientStatus.CAPPED))),
                  else_=literal(str(MassRecipientStatus.QUEUED))).label("status")
    candidates = select(picked.c.external_userid, picked.c.userid, status).where(picked.c.rn == 1).subquery()
    chunk = ((func.row_number().over(partition_by=(candidates.c.userid, candidates.c.status),
                                     order_by=candidates.c.external_userid) - 1) // TASK_SIZE).label("chunk")
    rows = select(literal(message.corp_id), literal(message.id), candidates.c.external_userid, candidates.c.userid,
                  literal(month), candidates.c.status, chunk)
    db.session.execute(insert(Rc).from_select(
        ["corp_id", "mass_message_id", "external_userid", "sender", "month", "status", "chunk"], rows))


def _tasks(message: MassMessage) -> int:
    queued = and_(Rc.mass_message_id == message.id, Rc.status == MassRecipientStatus.QUEUED)
    per_task = select(literal(message.corp_id), literal(message.id), Rc.sender, Rc.chunk, func.count(),
                      literal(str(T.PENDING)), literal(0)).where(queued).group_by(Rc.sender, Rc.chunk)
    db.session.execute(insert(MassMessageTask).from_select(
        ["corp_id", "mass_message_id", "sender", "chunk", "recipients", "status", "attempts"], per_task))
    task_id = (select(MassMessageTask.id).where(
        MassMessageTask.mass_message_id == message.id, MassMessageTask.sender == Rc.sender,
        MassMessageTask.chunk == Rc.chunk).scalar_subquery())
    db.session.execute(update(Rc).where(queued).values(task_id=task_id))
    return db.session.scalar(select(func.count()).where(MassMessageTask.mass_message_id == message.id))
