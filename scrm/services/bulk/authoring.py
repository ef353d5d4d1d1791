"""Creating a bulk job (validated against the corp's tags, SOPs and staff) and cancelling one."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    BatchStatus,
    BulkItemStatus,
    BulkJob,
    BulkJobItem,
    BulkKind,
    BulkStatus,
    HandoverBatch,
    HandoverItem,
    Sop,
    SopStatus,
)
from scrm.queueing import enqueue_after_commit
from scrm.services import access, handover, tagging
from scrm.services.audience import stored
from scrm.services.bulk import reassign
from scrm.services.bulk.queries import count
from scrm.services.org import active_staff
from scrm.services.validation import raise_if

RUN_JOB = "jobs.bulk.run"
MESSAGE_MAX = 200  # transfer_success_msg, as handover batches


def params_of(corp_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The kind's parameters, checked against stored data. Raises Invalid with field messages."""
    kind = data["kind"]
    errors: dict[str, list[str]] = {}
    if kind in (BulkKind.ADD_TAGS, BulkKind.REMOVE_TAGS):
        tag_ids = list(dict.fromkeys(data.get("tag_ids") or []))
        library = tagging.library(corp_id, tag_ids)
        unknown = [t for t in tag_ids if t not in library]
        if unknown:
            errors["tag_ids"] = [f"未知或已删除的标签：{', '.join(unknown[:5])}"]
        raise_if(errors)
        return {"tag_ids": tag_ids, "tag_names": [library[t][0] for t in tag_ids]}
    if kind == BulkKind.START_SOP:
        sop = db.session.get(Sop, data["sop_id"]) if data.get("sop_id") is not None else None
        if sop is None or sop.corp_id != corp_id or sop.status == SopStatus.DELETED:
            errors["sop_id"] = ["未知或已删除的 SOP"]
        elif sop.status != SopStatus.ACTIVE:
            errors["sop_id"] = ["该 SOP 已暂停：请先启用"]
        raise_if(errors)
        return {"sop_id": sop.id, "sop_name": sop.name}
    takeover = data.get("takeover_userid") or ""
    member = active_staff(corp_id, [takeover]).get(takeover)
    if member is None:
        errors["takeover_userid"] = ["接替成员应为在职成员"]
    elif takeover in (data["audience"].get("senders") or []) and len(data["audience"]["senders"]) == 1:
        errors["takeover_userid"] = ["接替成员不能是原跟进成员"]
    message = (data.get("transfer_success_msg") or "").strip() or None
    if message and len(message) > MESSAGE_MAX:
        errors["transfer_success_msg"] = [f"最多 {MESSAGE_MAX} 个字"]
    raise_if(errors)
    return {"takeover_userid": takeover, "takeover_name": member.name, "transfer_success_msg": message}


def create(corp_id: str, data: dict[str, Any], actor: str) -> BulkJob:
    """A new job, queued: the run job (after commit) writes its items and starts. Commits."""
    params = params_of(corp_id, data)
    job = BulkJob(corp_id=corp_id, kind=data["kind"], audience=stored(corp_id, data["audience"]), params=params,
                  status=BulkStatus.QUEUED, created_by=actor[:64], created_at=utcnow())
    db.session.add(job)
    db.session.flush()
    access.audit(corp_id, actor[:64], "bulk_job_created", "bulk_job", str(job.id), detail={"kind": job.kind})
    enqueue_after_commit(db.session, RUN_JOB, job.id, queue="messages", job_id=f"bulk-run-{job.id}")
    db.session.commit()
    return job


def cancel(job: BulkJob) -> int:
    """Items not processed yet are cancelled (a run in progress stops after its batch); reassign:
    handover batches not started yet are cancelled too (transfers WeCom started cannot be
    withdrawn: those items keep following them). Returns the items cancelled. Commits."""
    now = utcnow()
    if job.status not in (BulkStatus.QUEUED, BulkStatus.RUNNING):
        return 0
    if job.kind == BulkKind.REASSIGN:
        batch_ids = (select(HandoverItem.batch_id)
                     .join(BulkJobItem, BulkJobItem.handover_item_id == HandoverItem.id)
                     .where(BulkJobItem.job_id == job.id))
        for batch in db.session.scalars(select(HandoverBatch).where(
                HandoverBatch.id.in_(batch_ids), HandoverBatch.status == BatchStatus.APPROVED)):
            handover.cancel(batch)  # commits
    cancelled = db.session.execute(update(BulkJobItem).where(
        BulkJobItem.job_id == job.id, BulkJobItem.status == BulkItemStatus.PENDING,
        BulkJobItem.handover_item_id.is_(None))
        .values(status=BulkItemStatus.CANCELLED, reason="已取消", finished_at=now)).rowcount
    db.session.execute(update(BulkJob).where(BulkJob.id == job.id, BulkJob.status.in_(
        (BulkStatus.QUEUED, BulkStatus.RUNNING))).values(status=BulkStatus.CANCELLED, finished_at=now,
                                                         lease_until=None))
    if job.kind == BulkKind.REASSIGN:
        reassign.follow(now, [job.id])
    count(job.id)
    db.session.commit()
    db.session.refresh(job)
    return cancelled
