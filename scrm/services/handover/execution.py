"""Running an approved batch (the ``messages`` queue's job): WeCom's transfer calls, at most 100
customers or groups per call, per successor.

* customers: ``resigned/transfer_customer`` (离职) or ``transfer_customer`` (在职, with the
  batch's ``transfer_success_msg`` to the customer). errcode 0 per customer means started: the
  item waits (the customer may refuse within 24 h) and is polled (results.py). A customer
  transferred twice in the last 90 days is not sent: WeCom would answer 40128.
* groups: ``groupchat/transfer`` (离职) or ``groupchat/onjob_transfer`` (在职) take effect at
  once: done, and our group's owner follows (API changes bring no callback).

A retryable WeCom failure leaves the items proposed and the batch approved: the ``handover``
sweep sends the job again. A permanent one fails the items of that call, explained.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    BatchStatus,
    GroupChat,
    HandoverBatch,
    HandoverItem,
    HandoverKind,
    ItemStatus,
    Staff,
)
from scrm.services import timeline
from scrm.services.corps import wecom_client
from scrm.services.handover import explain
from scrm.services.handover.records import KIND_LABELS
from scrm.services.handover.results import finish_if_done
from scrm.wecom import WeComError

WAITING_TEXT = explain.RESULT_STATUSES[2][1]


def run_batch(batch_id: int) -> str:
    """Start the transfers of an approved batch. Returns the batch's status afterwards."""
    now = utcnow()
    claimed = db.session.execute(update(HandoverBatch).where(
        HandoverBatch.id == batch_id, HandoverBatch.status == BatchStatus.APPROVED)
        .values(status=BatchStatus.RUNNING, started_at=func.coalesce(HandoverBatch.started_at, now)))
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"
    batch = db.session.get(HandoverBatch, batch_id)
    items = list(db.session.scalars(select(HandoverItem).filter_by(
        batch_id=batch.id, status=ItemStatus.PROPOSED).order_by(HandoverItem.id)))
    by_takeover: dict[tuple[str, str], list[HandoverItem]] = defaultdict(list)
    for item in items:
        by_takeover[(item.target, item.takeover_userid)].append(item)
    retry = False
    for (target, takeover), group in by_takeover.items():
        if target == "customer" or batch.kind == HandoverKind.ONJOB:
            group = [i for i in group if not _too_often(batch, i, now)]
        for start in range(0, len(group), explain.PER_CALL):
            chunk = group[start:start + explain.PER_CALL]
            try:
                if target == "customer":
                    _transfer_customers(batch, takeover, chunk, now)
                else:
                    _transfer_groups(batch, takeover, chunk, now)
            except WeComError as exc:
                if exc.retryable:
                    retry = True
                    continue
                for item in chunk:
                    _finish(item, *explain.for_errcode(exc.errcode or 0, exc.errmsg), now, errcode=exc.errcode)
            db.session.commit()
    if retry:
        batch.status = BatchStatus.APPROVED  # the sweep sends the job again for what is left
    else:
        finish_if_done(batch, now)
    db.session.commit()
    return batch.status


def _finish(item: HandoverItem, status: str, reason: str | None, now: datetime, *, errcode: int | None) -> None:
    item.status, item.reason, item.errcode, item.finished_at, item.next_check_at = status, reason, errcode, now, None


def _too_often(batch: HandoverBatch, item: HandoverItem, now: datetime) -> bool:
    """WeCom's limits, checked before calling: a customer at most 2 transfers in 90 days (40128),
    a group at most 2 on-the-job transfers in 90 days."""
    query = select(func.count()).select_from(HandoverItem).where(
        HandoverItem.corp_id == batch.corp_id, HandoverItem.target == item.target,
        HandoverItem.target_id == item.target_id,
        HandoverItem.started_at >= now - timedelta(days=explain.WINDOW_DAYS))
    if item.target == "group":
        query = query.join(HandoverBatch, HandoverBatch.id == HandoverItem.batch_id).where(
            HandoverBatch.kind == HandoverKind.ONJOB)
    if db.session.scalar(query) < explain.TRANSFERS_PER_WINDOW:
        return False
    if item.target == "group":
        _finish(item, ItemStatus.LIMIT, explain.GROUP_TOO_OFTEN, now, errcode=None)
    else:
        _finish(item, *explain.for_errcode(explain.TOO_OFTEN), now, errcode=explain.TOO_OFTEN)
    return True


def _transfer_customers(batch: HandoverBatch, takeover: str, chunk: list[HandoverItem], now: datetime) -> None:
    resigned = batch.kind == HandoverKind.RESIGNED
    body = {"handover_userid": batch.handover_userid, "takeover_userid": takeover,
            "external_userid": [i.target_id for i in chunk]}
    if not resigned and batch.transfer_success_msg:
        body["transfer_success_msg"] = batch.transfer_success_msg
    path = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
    reply = wecom_client(batch.corp_id).call("POST", path, json=body)
    codes = {row.get("external_userid"): row.get("errcode", 0) for row in reply.get("customer") or []}
    names = dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == batch.corp_id, Staff.userid.in_((batch.handover_userid, takeover)))).all())
    leaver = names.get(batch.handover_userid) or batch.handover_userid
    started = f"发起{KIND_LABELS.get(batch.kind, batch.kind)}：{leaver} → {names.get(takeover) or takeover}"
    check_at = now + timedelta(minutes=settings().handover_poll_minutes)
    for item in chunk:
        errcode = codes.get(item.target_id, 0)
        if errcode:
            _finish(item, *explain.for_errcode(errcode), now, errcode=errcode)
            continue
        item.status, item.reason, item.errcode = ItemStatus.WAITING, WAITING_TEXT, None
        item.started_at, item.next_check_at = now, check_at
        timeline.record(batch.corp_id, item.target_id, "handover_started", source="job", userid=takeover,
                        occurred_at=now, summary=f"{started}，等待客户确认（24 小时内可拒绝）",
                        data={"from": batch.handover_userid, "to": takeover, "kind": batch.kind,
                              "batch_id": batch.id})


def _transfer_groups(batch: HandoverBatch, takeover: str, chunk: list[HandoverItem], now: datetime) -> None:
    path = ("externalcontact/groupchat/transfer" if batch.kind == HandoverKind.RESIGNED
            else "externalcontact/groupchat/onjob_transfer")
    reply = wecom_client(batch.corp_id).call("POST", path, json={
        "chat_id_list": [i.target_id for i in chunk], "new_owner": takeover})
    failed = {row.get("chat_id"): row for row in reply.get("failed_chat_list") or []}
    for item in chunk:
        row = failed.get(item.target_id)
        if row is not None:
            errcode = int(row.get("errcode") or 0)
            _finish(item, *explain.for_errcode(errcode, row.get("errmsg") or ""), now, errcode=errcode)
            continue
        _finish(item, ItemStatus.DONE, None, now, errcode=None)
        item.started_at = item.moved_at = now
        db.session.execute(update(GroupChat).where(
            GroupChat.corp_id == batch.corp_id, GroupChat.chat_id == item.target_id).values(owner=takeover)
            .execution_options(synchronize_session=False))
