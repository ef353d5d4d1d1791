"""Following started transfers to the end: ``transfer_result`` polled by the ``handover`` sweep
(every SCRM_HANDOVER_POLL_MINUTES while the customer's 24 h run), the ``transfer_fail`` callback
(a refusal, or the successor at their customer limit) and, on the job, ``del_external_contact``
with Source DELETE_BY_TRANSFER (the transfer completed). A completed item's records move to the
successor (records.py); a batch is done when every item is final."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from scrm.clock import from_timestamp, utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import BatchStatus, HandoverBatch, HandoverItem, HandoverKind, ItemStatus
from scrm.models.handover import FINAL
from scrm.queueing import enqueue
from scrm.services.corps import wecom_client
from scrm.services.handover import explain, records
from scrm.wecom import WeComError

POLL_JOB = "jobs.handover.poll_batch"
NO_RECORD_AFTER = timedelta(hours=48)  # status 5 (no record) this long after the start: give up


def finish_if_done(batch: HandoverBatch, now: datetime) -> None:
    """RUNNING → DONE once no item is proposed or waiting (no commit)."""
    db.session.flush()
    open_items = db.session.scalar(select(HandoverItem.id).where(
        HandoverItem.batch_id == batch.id, HandoverItem.status.not_in(FINAL)).limit(1))
    if open_items is None and batch.status == BatchStatus.RUNNING:
        batch.status, batch.finished_at = BatchStatus.DONE, now


def sweep(now: datetime | None = None) -> int:
    """Enqueue a poll for each batch with a waiting item due for a check."""
    now = now or utcnow()
    due = db.session.scalars(select(HandoverItem.batch_id).where(
        HandoverItem.status == ItemStatus.WAITING, HandoverItem.next_check_at <= now).distinct()).all()
    return sum(enqueue(POLL_JOB, batch_id, now.isoformat(), queue="messages", job_id=f"handover-poll-{batch_id}",
                       unique=True) is not None for batch_id in due)


def _results(batch: HandoverBatch, takeover: str) -> dict[str, dict]:
    path = ("externalcontact/resigned/transfer_result" if batch.kind == HandoverKind.RESIGNED
            else "externalcontact/transfer_result")
    client, cursor, rows, seen = wecom_client(batch.corp_id), "", {}, set()
    while True:
        reply = client.call("POST", path, json={"handover_userid": batch.handover_userid,
                                                "takeover_userid": takeover, **({"cursor": cursor} if cursor else {})})
        rows.update({row["external_userid"]: row for row in reply.get("customer") or [] if row.get("external_userid")})
        cursor = reply.get("next_cursor") or ""
        if not cursor or cursor in seen:
            return rows
        seen.add(cursor)


def poll_batch(batch_id: int, as_of: datetime | None = None) -> str:
    """Ask WeCom how the batch's waiting transfers went; apply what is final."""
    now = utcnow()
    as_of = as_of or now  # `flask scrm tick --now`: the poll happens as of then; rows say when it ran
    batch = db.session.get(HandoverBatch, batch_id)
    if batch is None:
        return "missing"
    waiting = list(db.session.scalars(select(HandoverItem).where(
        HandoverItem.batch_id == batch_id, HandoverItem.status == ItemStatus.WAITING)))
    by_takeover: dict[str, list[HandoverItem]] = defaultdict(list)
    for item in waiting:
        by_takeover[item.takeover_userid].append(item)
    next_check = max(now, as_of) + timedelta(minutes=settings().handover_poll_minutes)
    for takeover, items in by_takeover.items():
        try:
            rows = _results(batch, takeover)
        except WeComError:
            for item in items:
                item.next_check_at = next_check  # asked again at the next poll
            continue
        for item in items:
            row = rows.get(item.target_id) or {"status": 5}  # not listed: as "no record"
            status, reason = explain.RESULT_STATUSES.get(int(row.get("status") or 5), explain.RESULT_STATUSES[5])
            if status == ItemStatus.DONE:
                records.complete(batch, item, from_timestamp(row.get("takeover_time")) or now, now)
            elif status == ItemStatus.WAITING:
                item.next_check_at = next_check
                if row.get("status") == 5 and item.started_at and as_of - item.started_at > NO_RECORD_AFTER:
                    item.status, item.reason, item.finished_at, item.next_check_at = (
                        ItemStatus.FAILED, reason, now, None)
            else:
                item.status, item.reason, item.finished_at, item.next_check_at = status, reason, now, None
    finish_if_done(batch, now)
    db.session.commit()
    return batch.status


# ---- callbacks (in the handler's transaction: no commit) --------------------------------------

def _waiting_item(corp_id: str, external_userid: str, **batch_filter: str) -> tuple[HandoverBatch, HandoverItem] | None:
    query = (select(HandoverBatch, HandoverItem).join(HandoverItem, HandoverItem.batch_id == HandoverBatch.id)
             .where(HandoverItem.corp_id == corp_id, HandoverItem.target == "customer",
                    HandoverItem.target_id == external_userid, HandoverItem.status == ItemStatus.WAITING)
             .order_by(HandoverItem.id.desc()).limit(1))
    for name, value in batch_filter.items():
        column = HandoverItem.takeover_userid if name == "takeover" else HandoverBatch.handover_userid
        query = query.where(column == value)
    row = db.session.execute(query).first()
    return (row[0], row[1]) if row else None


def transfer_failed(corp_id: str, takeover: str, external_userid: str, reason: str | None,
                    at: datetime) -> None:
    """transfer_fail: UserID is the successor (docs/wecom/callbacks.md)."""
    found = _waiting_item(corp_id, external_userid, takeover=takeover)
    if found is None:
        return
    batch, item = found
    status, text = explain.FAIL_REASONS.get(reason or "", (ItemStatus.FAILED, f"接替失败：{reason}"))
    item.status, item.reason, item.finished_at, item.next_check_at = status, text, at, None
    finish_if_done(batch, at)


def transfer_completed(corp_id: str, handover: str, external_userid: str, at: datetime) -> None:
    """del_external_contact Source DELETE_BY_TRANSFER: the on-the-job transfer completed."""
    found = _waiting_item(corp_id, external_userid, handover=handover)
    if found is None:
        return
    batch, item = found
    records.complete(batch, item, at, utcnow())
    finish_if_done(batch, utcnow())
