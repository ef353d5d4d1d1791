"""Handover batches before they run: opened when a member leaves (离职继承, from WeCom's lists) or
by an operator (在职转接), successors proposed by a rule, edited, approved by a manager, cancelled.
Services own the transaction: each public function here commits."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, insert, literal, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    BatchStatus,
    FollowRelation,
    GroupChat,
    GroupChatStatus,
    HandoverBatch,
    HandoverItem,
    HandoverKind,
    ItemStatus,
    RelationStatus,
)
from scrm.queueing import enqueue, enqueue_after_commit
from scrm.services.corps import wecom_client
from scrm.services.handover import successors
from scrm.services.handover.explain import NO_SUCCESSOR
from scrm.services.validation import Invalid, raise_if

OPEN_JOB = "jobs.handover.open_resigned"
RUN_JOB = "jobs.handover.run_batch"
RULES = ("manager", "workload", "manual")
MESSAGE_MAX = 200  # transfer_success_msg, characters
INTERRUPTED_AFTER = timedelta(minutes=15)  # a running batch with items never sent: its job died


def open_resigned_later(corp_id: str, userid: str) -> None:
    """From the delete_user handler: list the leaver's customers and groups once it commits."""
    enqueue_after_commit(db.session, OPEN_JOB, corp_id, userid, queue="sync",
                         job_id=f"handover-open-{corp_id}-{userid}")


# ---- what WeCom says is waiting for a successor ----------------------------------------------

def unassigned_customers(corp_id: str, userid: str) -> list[str]:
    """The leaver's customers in get_unassigned_list (every page, by cursor)."""
    client, cursor, found = wecom_client(corp_id), "", []
    while True:
        reply = client.call("POST", "externalcontact/get_unassigned_list",
                            json={"page_size": 1000, **({"cursor": cursor} if cursor else {})})
        found += [row["external_userid"] for row in reply.get("info") or []
                  if row.get("handover_userid") == userid and row.get("external_userid")]
        cursor = reply.get("next_cursor") or ""
        if reply.get("is_last", True) or not cursor:
            return list(dict.fromkeys(found))


def resigned_groups(corp_id: str, userid: str) -> list[str]:
    """The leaver's groups waiting for a new owner (groupchat/list status_filter 1: 离职待继承)."""
    client, cursor, found = wecom_client(corp_id), None, []
    while True:
        reply = client.groupchat_list(status_filter=1, owner_userids=[userid], cursor=cursor, limit=1000)
        found += [row["chat_id"] for row in reply.get("group_chat_list") or [] if row.get("chat_id")]
        cursor = reply.get("next_cursor") or None
        if not cursor:
            return found


def open_resigned(corp_id: str, userid: str, *, created_by: str = "change_contact") -> HandoverBatch | None:
    """A proposed 离职继承 batch for what WeCom lists as the leaver's (None: nothing to hand over).
    Customers and groups already in a live batch of theirs are not listed twice."""
    customers, chats = unassigned_customers(corp_id, userid), resigned_groups(corp_id, userid)
    live = _in_live_batches(corp_id, userid)
    customers = [c for c in customers if ("customer", c) not in live]
    chats = [c for c in chats if ("group", c) not in live]
    if not customers and not chats:
        db.session.commit()
        return None
    batch = db.session.scalar(select(HandoverBatch).filter_by(
        corp_id=corp_id, handover_userid=userid, kind=HandoverKind.RESIGNED, status=BatchStatus.PROPOSED))
    if batch is None:
        batch = HandoverBatch(corp_id=corp_id, kind=HandoverKind.RESIGNED, handover_userid=userid,
                              rule=settings().handover_rule, status=BatchStatus.PROPOSED, created_by=created_by)
        db.session.add(batch)
        db.session.flush()
    _add_items(batch, customers, chats)
    # Only the new items: successors an operator already chose (PATCH, propose) are kept.
    rule = batch.rule if batch.rule != "manual" else settings().handover_rule
    _propose(batch, rule, batch.team, None, only_new=True)
    db.session.commit()
    return batch


def _in_live_batches(corp_id: str, userid: str) -> set[tuple[str, str]]:
    rows = db.session.execute(select(HandoverItem.target, HandoverItem.target_id).join(
        HandoverBatch, HandoverBatch.id == HandoverItem.batch_id).where(
        HandoverBatch.corp_id == corp_id, HandoverBatch.handover_userid == userid,
        HandoverItem.status.in_((ItemStatus.PROPOSED, ItemStatus.WAITING)))).all()
    return {(target, target_id) for target, target_id in rows}


def _add_items(batch: HandoverBatch, customers: Iterable[str], chats: Iterable[str]) -> None:
    have = {(i.target, i.target_id) for i in db.session.scalars(select(HandoverItem).filter_by(batch_id=batch.id))}
    for target, ids in (("customer", customers), ("group", chats)):
        for target_id in ids:
            if (target, target_id) not in have:
                db.session.add(HandoverItem(corp_id=batch.corp_id, batch_id=batch.id, target=target,
                                            target_id=target_id, status=ItemStatus.PROPOSED))
    db.session.flush()


# ---- on the job: the operator picks the customers and groups -----------------------------------

def create_onjob(corp_id: str, data: dict, *, created_by: str | None = None) -> HandoverBatch:
    """在职转接 of ``data["handover_userid"]``'s customers (``external_userids``, default all active
    ones) and groups (``chat_ids``, default all they own; ``[]`` for none), proposed by ``rule``."""
    userid = data["handover_userid"]
    errors: dict[str, list[str]] = {}
    if userid not in successors.active_staff(corp_id, [userid]):
        errors["handover_userid"] = ["不是在职成员：离职成员的客户由离职继承处理"]
    message = (data.get("transfer_success_msg") or "").strip() or None
    if message and len(message) > MESSAGE_MAX:
        errors["transfer_success_msg"] = [f"最多 {MESSAGE_MAX} 个字"]
    raise_if(errors)
    customers = data.get("external_userids")
    if customers is None:
        customers = db.session.scalars(select(FollowRelation.external_userid).where(
            FollowRelation.corp_id == corp_id, FollowRelation.userid == userid,
            FollowRelation.status == RelationStatus.ACTIVE).order_by(FollowRelation.id)).all()
    else:
        active = set(db.session.scalars(select(FollowRelation.external_userid).where(
            FollowRelation.corp_id == corp_id, FollowRelation.userid == userid,
            FollowRelation.status == RelationStatus.ACTIVE, FollowRelation.external_userid.in_(customers))))
        missing = [c for c in customers if c not in active]
        raise_if({"external_userids": [f"不是该成员的客户：{', '.join(missing[:5])}"]} if missing else {})
    chats = data.get("chat_ids")
    owned = db.session.scalars(select(GroupChat.chat_id).where(
        GroupChat.corp_id == corp_id, GroupChat.owner == userid,
        GroupChat.status != GroupChatStatus.DISMISSED).order_by(GroupChat.id)).all()
    if chats is None:
        chats = owned
    elif [c for c in chats if c not in set(owned)]:
        raise Invalid({"chat_ids": ["只能转接该成员作为群主的客户群"]})
    live = _in_live_batches(corp_id, userid)
    busy = [c for c in customers if ("customer", c) in live] + [c for c in chats if ("group", c) in live]
    if busy and (data.get("external_userids") is not None or data.get("chat_ids") is not None):
        raise Invalid({"external_userids": [f"已在另一个转接批次中：{', '.join(busy[:5])}"]})
    customers = [c for c in customers if ("customer", c) not in live]
    chats = [c for c in chats if ("group", c) not in live]
    raise_if({"external_userids": ["没有可转接的客户或客户群"]} if not customers and not chats else {})
    batch = HandoverBatch(corp_id=corp_id, kind=HandoverKind.ONJOB, handover_userid=userid,
                          rule=data.get("rule") or "workload", status=BatchStatus.PROPOSED,
                          transfer_success_msg=message, created_by=created_by)
    db.session.add(batch)
    db.session.flush()
    _add_items(batch, list(dict.fromkeys(customers)), list(dict.fromkeys(chats)))
    _propose(batch, batch.rule, data.get("team"), data.get("takeover_userid"))
    db.session.commit()
    return batch


def open_approved_onjob(corp_id: str, handover_userid: str, takeover: str, customers: Select, *,
                        approved_by: str, created_by: str, message: str | None = None) -> HandoverBatch | None:
    """An approved 在职转接 batch of ``handover_userid``'s customers (``customers``: a SELECT of
    external_userids, their active relations with that member) to ``takeover``, decided by
    ``approved_by`` (a bulk action's creator): items written set-based, customers already in a
    live batch of theirs left out; the run job starts after commit. None when no customer is
    left. The caller validates the members and commits."""
    batch = HandoverBatch(corp_id=corp_id, kind=HandoverKind.ONJOB, handover_userid=handover_userid, rule="manual",
                          status=BatchStatus.APPROVED, transfer_success_msg=message, created_by=created_by[:64],
                          approved_by=approved_by[:64], approved_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    live = (select(HandoverItem.target_id).join(HandoverBatch, HandoverBatch.id == HandoverItem.batch_id).where(
        HandoverBatch.corp_id == corp_id, HandoverBatch.handover_userid == handover_userid,
        HandoverItem.target == "customer", HandoverItem.status.in_((ItemStatus.PROPOSED, ItemStatus.WAITING))))
    wanted = customers.subquery()
    ext = wanted.c[0]
    rows = (select(literal(corp_id), literal(batch.id), literal("customer"), ext, literal(takeover),
                   literal(str(ItemStatus.PROPOSED)), literal(batch.approved_at), literal(batch.approved_at))
            .join(FollowRelation, and_(FollowRelation.corp_id == corp_id, FollowRelation.userid == handover_userid,
                                       FollowRelation.external_userid == ext,
                                       FollowRelation.status == RelationStatus.ACTIVE))
            .where(ext.not_in(live)).distinct())
    db.session.execute(insert(HandoverItem).from_select(
        ["corp_id", "batch_id", "target", "target_id", "takeover_userid", "status", "created_at", "updated_at"], rows))
    if db.session.scalar(select(HandoverItem.id).filter_by(batch_id=batch.id).limit(1)) is None:
        db.session.delete(batch)
        db.session.flush()
        return None
    enqueue_after_commit(db.session, RUN_JOB, batch.id, queue="messages", job_id=f"handover-run-{batch.id}")
    return batch


# ---- proposing, editing, approving -------------------------------------------------------------

def _check_team(batch: HandoverBatch, team: list[str] | None, takeover: str | None, rule: str) -> None:
    errors: dict[str, list[str]] = {}
    if rule not in RULES:
        errors["rule"] = [f"应为 {' / '.join(RULES)} 之一"]
    if rule == "manual":
        if not takeover or takeover == batch.handover_userid or not successors.active_staff(batch.corp_id, [takeover]):
            errors["takeover_userid"] = ["请指定一位在职成员（不能是原成员）"]
    if team:
        known = successors.active_staff(batch.corp_id, team)
        bad = [u for u in team if u not in known or u == batch.handover_userid]
        if bad:
            errors["team"] = [f"不是可接替的在职成员：{', '.join(bad[:5])}"]
    raise_if(errors)


def _propose(batch: HandoverBatch, rule: str, team: list[str] | None, takeover: str | None, *,
             only_new: bool = False) -> None:
    """Successors for the batch's proposed items (``only_new``: those without one yet)."""
    _check_team(batch, team, takeover, rule)
    query = select(HandoverItem).filter_by(batch_id=batch.id, status=ItemStatus.PROPOSED).order_by(HandoverItem.id)
    if only_new:
        query = query.where(HandoverItem.takeover_userid.is_(None))
    else:
        batch.rule, batch.team = rule, list(team) if team else None
    items = list(db.session.scalars(query))
    picks: dict[int, str | None] = {}
    manager = successors.manager_of(batch.corp_id, batch.handover_userid) if rule == "manager" else None
    if rule == "manual" or manager:
        picks = {item.id: takeover or manager for item in items}
    else:  # workload (and manager without a manager)
        members = list(team) if team else successors.default_team(batch.corp_id, batch.handover_userid)
        for target in ("customer", "group"):
            mine = [i for i in items if i.target == target]
            picks.update(zip([i.id for i in mine], successors.spread(batch.corp_id, members, len(mine)), strict=False))
    for item in items:
        item.takeover_userid = picks.get(item.id)
        item.reason = None if item.takeover_userid else NO_SUCCESSOR


def propose(batch: HandoverBatch, rule: str, team: list[str] | None = None, takeover: str | None = None) -> None:
    """Propose successors again for the items of a batch not yet approved."""
    _must_be(batch, BatchStatus.PROPOSED, "只有待审批的批次可以重新分配")
    _propose(batch, rule, team, takeover)
    db.session.commit()


def edit_item(batch: HandoverBatch, item: HandoverItem, *, takeover: str | None = None,
              cancelled: bool | None = None) -> None:
    """Change an item's successor, or leave it out of the batch (``cancelled``)."""
    _must_be(batch, BatchStatus.PROPOSED, "批次已审批，不能再修改")
    if takeover is not None:
        if takeover == batch.handover_userid or not successors.active_staff(batch.corp_id, [takeover]):
            raise Invalid({"takeover_userid": ["请指定一位在职成员（不能是原成员）"]})
        item.takeover_userid, item.reason = takeover, None
    if cancelled is not None:
        item.status = ItemStatus.CANCELLED if cancelled else ItemStatus.PROPOSED
    db.session.commit()


def approve(batch: HandoverBatch, approver: str) -> None:
    """A manager approves: the transfers start (the ``messages`` queue's job)."""
    _must_be(batch, BatchStatus.PROPOSED, "只有待审批的批次可以审批")
    errors: dict[str, list[str]] = {}
    if approver == batch.handover_userid or not successors.active_staff(batch.corp_id, [approver]):
        errors["approved_by"] = ["审批人应为在职成员（不能是原成员）"]
    missing = db.session.scalars(select(HandoverItem.target_id).filter_by(
        batch_id=batch.id, status=ItemStatus.PROPOSED, takeover_userid=None)).all()
    if missing:
        errors["items"] = [f"{len(missing)} 项没有接替成员：{', '.join(missing[:5])}"]
    raise_if(errors)
    batch.status, batch.approved_by, batch.approved_at = BatchStatus.APPROVED, approver, utcnow()
    enqueue_after_commit(db.session, RUN_JOB, batch.id, queue="messages", job_id=f"handover-run-{batch.id}")
    db.session.commit()


def cancel(batch: HandoverBatch) -> None:
    if batch.status not in (BatchStatus.PROPOSED, BatchStatus.APPROVED):
        raise Invalid({"status": ["转接已开始，WeCom 不能撤回已发起的转接"]})
    batch.status, batch.cancelled_at = BatchStatus.CANCELLED, utcnow()
    for item in db.session.scalars(select(HandoverItem).filter_by(batch_id=batch.id, status=ItemStatus.PROPOSED)):
        item.status = ItemStatus.CANCELLED
    db.session.commit()


def _must_be(batch: HandoverBatch, status: BatchStatus, message: str) -> None:
    if batch.status != status:
        raise Invalid({"status": [message]})


def resend_approved(now: datetime | None = None) -> int:
    """The sweep: an approved batch whose job Redis lost is sent again; so is a running one whose
    job died before starting every item (what WeCom already took answers 40129 and is explained)."""
    now = now or utcnow()
    interrupted = select(HandoverItem.batch_id).where(HandoverItem.status == ItemStatus.PROPOSED)
    db.session.execute(update(HandoverBatch).where(
        HandoverBatch.status == BatchStatus.RUNNING, HandoverBatch.started_at < now - INTERRUPTED_AFTER,
        HandoverBatch.id.in_(interrupted)).values(status=BatchStatus.APPROVED))
    db.session.commit()
    ids = db.session.scalars(select(HandoverBatch.id).filter_by(status=BatchStatus.APPROVED)).all()
    return sum(enqueue(RUN_JOB, batch_id, queue="messages", job_id=f"handover-run-{batch_id}", unique=True)
               is not None for batch_id in ids)
