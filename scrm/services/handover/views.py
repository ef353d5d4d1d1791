"""What the Open API shows of a batch and its items."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import Customer, GroupChat, HandoverBatch, HandoverItem, Staff
from scrm.services.handover import explain


def batch_view(batch: HandoverBatch) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {"customer": {}, "group": {}}
    for target, status, count in db.session.execute(
            select(HandoverItem.target, HandoverItem.status, func.count()).where(
                HandoverItem.batch_id == batch.id).group_by(HandoverItem.target, HandoverItem.status)):
        counts.setdefault(target, {})[status] = count
    successors = db.session.execute(
        select(HandoverItem.takeover_userid, func.count()).where(HandoverItem.batch_id == batch.id)
        .group_by(HandoverItem.takeover_userid)).all()
    names = _staff_names(batch.corp_id, {batch.handover_userid} | {u for u, _ in successors if u})
    return {"id": batch.id, "kind": batch.kind, "handover_userid": batch.handover_userid,
            "handover_name": names.get(batch.handover_userid), "rule": batch.rule, "team": batch.team,
            "status": batch.status, "transfer_success_msg": batch.transfer_success_msg,
            "created_by": batch.created_by, "approved_by": batch.approved_by, "approved_at": batch.approved_at,
            "started_at": batch.started_at, "finished_at": batch.finished_at, "cancelled_at": batch.cancelled_at,
            "created_at": batch.created_at, "counts": counts,
            "successors": [{"userid": u, "name": names.get(u), "items": n} for u, n in successors if u],
            "limits": explain.limits()}


def item_view(rows: list[HandoverItem]) -> list[dict[str, Any]]:
    if not rows:
        return []
    corp_id = rows[0].corp_id
    customers = {r.target_id for r in rows if r.target == "customer"}
    chats = {r.target_id for r in rows if r.target == "group"}
    labels = dict(db.session.execute(select(Customer.external_userid, Customer.name).where(
        Customer.corp_id == corp_id, Customer.external_userid.in_(customers))).all()) if customers else {}
    if chats:
        labels.update(db.session.execute(select(GroupChat.chat_id, GroupChat.name).where(
            GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(chats))).all())
    names = _staff_names(corp_id, {r.takeover_userid for r in rows if r.takeover_userid})
    return [{"id": r.id, "target": r.target, "target_id": r.target_id, "name": labels.get(r.target_id),
             "takeover_userid": r.takeover_userid, "takeover_name": names.get(r.takeover_userid),
             "status": r.status, "errcode": r.errcode, "reason": r.reason, "started_at": r.started_at,
             "finished_at": r.finished_at, "records_moved_at": r.moved_at} for r in rows]


def _staff_names(corp_id: str, userids: set[str]) -> dict[str, str | None]:
    if not userids:
        return {}
    return dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == corp_id, Staff.userid.in_(userids))).all())
