"""Delivering due recalls (the ``messages`` queue's job) and reading back mass-send results,
through the WeCom machinery customer SOPs use (scrm/services/outreach.py).

A job claims its recall with ``UPDATE … WHERE status='pending'``, so it runs at most once
however many schedulers enqueue it. Then, unless the playbook was paused meanwhile, the recall
is over STALE_AFTER late, or the relation is no longer in the state the action needs (skipped):

* ``mass_send``: a 1:1 mass-send task for the staff member (`add_msg_template`, chat_type
  single); due recalls of one playbook and staff member whose content is the same for everyone
  (no ``{nickname}``) are claimed together and sent as one task; the result is tracked
  (`get_groupmsg_task`, `get_groupmsg_send_result`) as an SOP step's is;
* ``reminder``: a `message/send` card to the staff member opening the sidebar customer view
  with the script ready to send (``/sidebar/?customer=<id>&recall=<recall id>``), within
  message/send's per-member budget (over it: left pending for the next sweep);
* ``contact`` (the customer deleted the member): the same card, titled as a task to reach the
  customer another way; the sidebar shows the relation's remark mobiles (masked by role).

Sending starts the outcome window (SCRM_RECALL_WINDOW_DAYS) and goes on the customer's timeline.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update

from scrm.clock import from_timestamp, utcnow
from scrm.config import settings
from scrm.content_limits import NICKNAME
from scrm.extensions import db
from scrm.models import (
    FollowRelation,
    PlaybookStatus,
    Recall,
    RecallAction,
    RecallPlaybook,
    RecallStatus,
    RelationStatus,
)
from scrm.services import outreach, timeline
from scrm.services.outreach import FIRST_CHECK, GIVE_UP_AFTER, SEND_RESULTS
from scrm.wecom import WeComError, retry

STALE_AFTER = timedelta(hours=24)
MAX_ATTEMPTS = retry.TASK_MAX_ATTEMPTS
MASS_SEND_BATCH = 1000
TITLES = {RecallAction.REMINDER: ("客户召回提醒：客户已沉默，请发消息联系", "去联系"),
          RecallAction.CONTACT: ("客户召回任务：客户已删除你，请通过其他方式联系", "查看任务")}
ACTION_LABELS = {RecallAction.MASS_SEND: "群发任务", RecallAction.REMINDER: "提醒",
                 RecallAction.CONTACT: "其他方式联系"}


def _claim(ids: list[int], now: datetime) -> list[int]:
    claimed = db.session.scalars(
        update(Recall).where(Recall.id.in_(ids), Recall.status == RecallStatus.PENDING)
        .values(status=RecallStatus.RUNNING, attempts=Recall.attempts + 1, started_at=now)
        .returning(Recall.id)).all()
    db.session.commit()
    return list(claimed)


def run_recall(recall_id: int, as_of: datetime | None = None) -> str:
    """Deliver one due recall at most once. Returns its status (or why nothing happened)."""
    now = utcnow()
    as_of = as_of or now
    recall = db.session.get(Recall, recall_id)
    if recall is None or recall.status != RecallStatus.PENDING:
        return "skipped"
    playbook = db.session.get(RecallPlaybook, recall.playbook_id)
    if playbook is None or playbook.status != PlaybookStatus.ACTIVE:
        return "paused"
    if recall.action != RecallAction.MASS_SEND and not outreach.reminder_allowed(recall.corp_id, recall.userid):
        return "throttled"  # still pending: the next sweep enqueues it again
    if not _claim([recall_id], now):
        return "skipped"
    db.session.refresh(recall)
    reason = _not_due(recall, as_of)
    if reason is not None:
        return finish(recall, RecallStatus.SKIPPED, now, error=reason)
    recalls = [recall]
    try:
        if recall.action == RecallAction.MASS_SEND:
            recalls += _claim_batch(recall, playbook, as_of, now)
            return _mass_send(recalls, playbook, now)
        return _remind(recall, playbook, now)
    except WeComError as exc:
        for each in recalls:
            if exc.retryable and each.attempts < MAX_ATTEMPTS:
                each.status, each.error = RecallStatus.PENDING, str(exc)  # the next sweep retries
            else:
                finish(each, RecallStatus.FAILED, now, error=str(exc))
        db.session.commit()
        return recall.status


def _not_due(recall: Recall, as_of: datetime) -> str | None:
    """Why a claimed recall must not go out now, or None."""
    if as_of - recall.due_at > STALE_AFTER:
        return "stale: more than 24 h past due"
    status = db.session.scalar(select(FollowRelation.status).where(FollowRelation.id == recall.relation_id))
    wanted = RelationStatus.DELETED_BY_CUSTOMER if recall.action == RecallAction.CONTACT else RelationStatus.ACTIVE
    return None if status == wanted else "relation_changed"


def _claim_batch(recall: Recall, playbook: RecallPlaybook, as_of: datetime, now: datetime) -> list[Recall]:
    """The playbook's other due mass-send recalls of the same staff member, claimed, so they go
    out as one WeCom task; only when the content is the same for everyone."""
    if NICKNAME in (playbook.text or ""):
        return []
    ids = db.session.scalars(select(Recall.id).where(
        Recall.playbook_id == recall.playbook_id, Recall.userid == recall.userid, Recall.id != recall.id,
        Recall.status == RecallStatus.PENDING, Recall.due_at <= as_of).order_by(Recall.id)
        .limit(MASS_SEND_BATCH - 1)).all()
    claimed = _claim(ids, now) if ids else []
    batch = []
    for sibling in db.session.scalars(select(Recall).where(Recall.id.in_(claimed)).order_by(Recall.id)
                                      .execution_options(populate_existing=True)):
        reason = _not_due(sibling, as_of)
        if reason is None:
            batch.append(sibling)
        else:
            finish(sibling, RecallStatus.SKIPPED, now, error=reason)
    return batch


def _content(recall: Recall, playbook: RecallPlaybook, now: datetime) -> dict:
    return outreach.render(recall.corp_id, recall.userid, recall.external_userid, playbook.text,
                           playbook.attachments or [], now)


def _mass_send(recalls: list[Recall], playbook: RecallPlaybook, now: datetime) -> str:
    first = recalls[0]
    content = _content(first, playbook, now)
    if not content:
        for each in recalls:
            finish(each, RecallStatus.FAILED, now, error="nothing to send (attachments expired)")
        return first.status
    msgid, failed = outreach.create_mass_send(first.corp_id, first.userid, [r.external_userid for r in recalls],
                                              content)
    for each in recalls:
        each.content, each.msgid = content, msgid
        if each.external_userid in failed or not msgid:
            finish(each, RecallStatus.FAILED, now, result="fail_list", error=outreach.NOT_ACCEPTED)
            continue
        each.status, each.next_check_at, each.error = RecallStatus.AWAITING, now + FIRST_CHECK, None
        _sent(each, playbook, now)
    db.session.commit()
    return first.status


def sidebar_url(recall: Recall) -> str:
    return (f"{settings().public_url}/sidebar/?customer={quote(recall.external_userid, safe='')}"
            f"&recall={recall.id}")


def _remind(recall: Recall, playbook: RecallPlaybook, now: datetime) -> str:
    content = _content(recall, playbook, now)
    nickname, _ = outreach.names(recall.corp_id, recall.userid, recall.external_userid)
    title, button = TITLES[RecallAction(recall.action)]
    description = outreach.card_description(f"召回 · {playbook.name}", nickname or recall.external_userid,
                                            outreach.preview(content) if content else "")
    outreach.send_card(recall.corp_id, recall.userid, title=title, description=description, url=sidebar_url(recall),
                       button=button)
    recall.content = content
    _sent(recall, playbook, now)
    return finish(recall, RecallStatus.SENT, now)


def _sent(recall: Recall, playbook: RecallPlaybook, now: datetime) -> None:
    """Sending starts the outcome window; the customer's timeline says so."""
    recall.sent_at = now
    recall.window_ends_at = now + timedelta(days=settings().recall_window_days)
    timeline.record(recall.corp_id, recall.external_userid, "recall_sent", source="job", userid=recall.userid,
                    occurred_at=now, summary=f"召回「{playbook.name}」：{ACTION_LABELS[RecallAction(recall.action)]}",
                    data={"recall_id": recall.id, "playbook_id": playbook.id, "action": recall.action,
                          "trigger": recall.trigger})


def finish(recall: Recall, status: RecallStatus, now: datetime, *, error: str | None = None,
           result: str | None = None) -> str:
    recall.status, recall.finished_at, recall.error = status, now, error
    if result is not None:
        recall.result = result
    db.session.commit()
    return recall.status


# ---- mass-send results -----------------------------------------------------------------------

def check_recall(recall_id: int, as_of: datetime | None = None) -> str:
    """Has the staff member sent the mass-send task, and did it reach the customer?"""
    now = utcnow()
    recall = db.session.get(Recall, recall_id)
    if recall is None or recall.status != RecallStatus.AWAITING or not recall.msgid:
        return "skipped"
    try:
        staff_status, send = outreach.send_state(recall.corp_id, recall.msgid, recall.userid, recall.external_userid)
    except WeComError as exc:
        if exc.retryable:  # 41063: still being dispatched
            recall.next_check_at, recall.error = now + retry.DISPATCHING_RECHECK, str(exc)
            db.session.commit()
            return "retry"
        return finish(recall, RecallStatus.FAILED, now, error=str(exc))
    if send is not None and send.get("status") in SEND_RESULTS:
        result = SEND_RESULTS[send["status"]]
        recall.result = result
        if result == "sent":
            recall.sent_at = from_timestamp(send.get("send_time")) or recall.sent_at or now
            recall.window_ends_at = recall.sent_at + timedelta(days=settings().recall_window_days)
            return finish(recall, RecallStatus.SENT, now)
        return finish(recall, RecallStatus.FAILED, now, error=result, result=result)
    if now - (recall.sent_at or recall.started_at or now) > GIVE_UP_AFTER:
        return finish(recall, RecallStatus.FAILED, now, result="not_sent", error="the staff member never sent it")
    recall.next_check_at = outreach.next_check(now, recall.sent_at)
    recall.result = "not_sent_yet" if staff_status != 2 else "pending"
    db.session.commit()
    return "awaiting"
