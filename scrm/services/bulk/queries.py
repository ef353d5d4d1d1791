"""Reading bulk jobs: figures per job (items by status, percent), its items with the customer's and
the staff member's names; ``count`` writes a job's figures from its items (one UPDATE)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select, update

from scrm.extensions import db
from scrm.models import BulkItemStatus, BulkJob, BulkJobItem, Customer, Staff

I = BulkJobItem  # noqa: E741


def _of(job_id: int, *statuses: str):
    return (select(func.count()).select_from(I).where(I.job_id == job_id, I.status.in_(statuses))
            .scalar_subquery())


def count(job_id: int) -> None:
    """done / failed / skipped (cancelled items count as failed: not done) from the items."""
    db.session.execute(update(BulkJob).where(BulkJob.id == job_id).values(
        done=_of(job_id, BulkItemStatus.DONE), failed=_of(job_id, BulkItemStatus.FAILED, BulkItemStatus.CANCELLED),
        skipped=_of(job_id, BulkItemStatus.SKIPPED)), execution_options={"synchronize_session": False})


def describe(jobs: list[BulkJob]) -> list[dict[str, Any]]:
    ids = [j.id for j in jobs]
    by_status: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for job_id, status, n in db.session.execute(select(I.job_id, I.status, func.count())
                                                    .where(I.job_id.in_(ids)).group_by(I.job_id, I.status)):
            by_status[job_id][status] = n
    out = []
    for j in jobs:
        processed = j.done + j.failed + j.skipped
        out.append({"id": j.id, "kind": j.kind, "audience": j.audience, "params": j.params, "status": j.status,
                    "total": j.total, "done": j.done, "failed": j.failed, "skipped": j.skipped,
                    "processed": processed,
                    "percent": round(100 * processed / j.total, 1) if j.total else (100.0 if j.finished_at else 0.0),
                    "items_by_status": by_status[j.id], "created_by": j.created_by, "error": j.error,
                    "created_at": j.created_at, "started_at": j.started_at, "finished_at": j.finished_at})
    return out


def items_query(job: BulkJob, status: str | None = None) -> Select:
    """Rows (item, customer name, staff name) in the order they were written."""
    query = (select(I.id, I.external_userid, I.userid, I.status, I.reason, I.errcode, I.finished_at,
                    Customer.name.label("name"), Staff.name.label("staff_name"))
             .outerjoin(Customer, (Customer.corp_id == I.corp_id) & (Customer.external_userid == I.external_userid))
             .outerjoin(Staff, (Staff.corp_id == I.corp_id) & (Staff.userid == I.userid))
             .where(I.job_id == job.id))
    if status:
        query = query.where(I.status == status)
    return query.order_by(I.id)
