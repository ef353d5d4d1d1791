"""Creating a mass message (validated as SOP content is, #5) and cancelling one."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.content_limits import NICKNAME
from scrm.extensions import db
from scrm.models import MassMessage, MassMessageRecipient, MassMessageStatus, MassMessageTask, MassRecipientStatus
from scrm.models import MassTaskStatus as T
from scrm.queueing import enqueue_after_commit
from scrm.services.audience import stored
from scrm.services.content import validate_attachments
from scrm.services.validation import raise_if

BUILD_JOB = "jobs.mass_messages.build"


def create(corp_id: str, data: dict[str, Any], actor: str) -> MassMessage:
    """A new message, queued: the build job (after commit) picks its recipients. Commits.
    Raises Invalid with field messages."""
    errors: dict[str, list[str]] = {}
    if NICKNAME in (data.get("text") or ""):
        errors["text"] = [f"{NICKNAME} cannot be used: a mass-send task carries one text for every customer "
                          "(use {staff_name}, or a customer SOP for per-customer text)."]
    errors.update(validate_attachments(corp_id, data.get("attachments") or []))
    raise_if(errors)
    audience = stored(corp_id, data["audience"])
    message = MassMessage(corp_id=corp_id, name=data["name"], text=data.get("text"),
                          attachments=data.get("attachments") or [], audience=audience,
                          monthly_cap=data.get("monthly_cap") or settings().customer_monthly_cap,
                          status=MassMessageStatus.QUEUED, created_by=actor[:64], created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    enqueue_after_commit(db.session, BUILD_JOB, message.id, queue="messages", job_id=f"mass-build-{message.id}")
    db.session.commit()
    return message


def cancel(message: MassMessage) -> int:
    """Tasks not created in WeCom yet are cancelled (their customers: not sent); tasks already
    created stay (the members may still send them: WeCom has no way to withdraw one we could rely
    on). Returns the tasks cancelled. Commits."""
    now = utcnow()
    cancelled = db.session.scalars(update(MassMessageTask).where(
        MassMessageTask.mass_message_id == message.id, MassMessageTask.status == T.PENDING)
        .values(status=T.FAILED, error="cancelled", finished_at=now).returning(MassMessageTask.id)).all()
    if cancelled:
        db.session.execute(update(MassMessageRecipient).where(
            MassMessageRecipient.task_id.in_(cancelled)).values(status=MassRecipientStatus.NOT_SENT))
    if message.status == MassMessageStatus.QUEUED:
        message.status, message.finished_at = MassMessageStatus.CANCELLED, now
    elif message.status == MassMessageStatus.SENDING and not db.session.scalar(select(MassMessageTask.id).where(
            MassMessageTask.mass_message_id == message.id,
            MassMessageTask.status.in_((T.RUNNING, T.AWAITING))).limit(1)):
        message.status, message.finished_at = MassMessageStatus.CANCELLED, now
    db.session.commit()
    return len(cancelled)
