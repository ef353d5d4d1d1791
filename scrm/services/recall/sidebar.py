"""Recalls in the chat sidebar: the recall a reminder card opens (``/sidebar/?recall=<id>``) with
its script ready to send in one tap (the same sendChatMessage arguments SOP reminders use), the
"sent" / "contacted" confirmation, and the recall task shown on a relation the customer deleted
(scrm/services/profile/recall.py)."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update

from scrm.clock import utcnow
from scrm.extensions import core_execute, db
from scrm.models import PlaybookStatus, Recall, RecallAction, RecallPlaybook, RecallStatus
from scrm.services import access, outreach, timeline
from scrm.services.content import render_text
from scrm.services.library import chat_messages
from scrm.services.recall.delivery import ACTION_LABELS

STATUS_LABELS = {RecallStatus.PENDING: "待发送", RecallStatus.RUNNING: "发送中", RecallStatus.AWAITING: "待确认群发",
                 RecallStatus.SENT: "待处理", RecallStatus.FAILED: "发送失败", RecallStatus.SKIPPED: "已跳过",
                 RecallStatus.CANCELLED: "已取消"}
OUTCOME_LABELS = {"won": "已召回", "lost": "未召回"}
OPEN = (RecallStatus.PENDING, RecallStatus.RUNNING, RecallStatus.AWAITING, RecallStatus.SENT)


def status_label(recall: Recall) -> str:
    if recall.outcome:
        return OUTCOME_LABELS[recall.outcome]
    if recall.sent_from_sidebar_at is not None:
        return "已联系" if recall.action == RecallAction.CONTACT else "已发送"
    return STATUS_LABELS.get(RecallStatus(recall.status), recall.status)


def script(recall: Recall, playbook: RecallPlaybook) -> str | None:
    nickname, staff_name = outreach.names(recall.corp_id, recall.userid, recall.external_userid)
    return render_text(playbook.text, nickname=nickname, staff_name=staff_name)


# The relation's recall reads run on sidebar profiles: built once, bound per call.
_RELATION = {"corp_id": bindparam("corp_id"), "userid": bindparam("userid"),
             "external_userid": bindparam("external_userid")}


@functools.cache
def _task_query() -> Select:
    return (select(Recall, RecallPlaybook).join(RecallPlaybook, RecallPlaybook.id == Recall.playbook_id)
            .where(Recall.corp_id == _RELATION["corp_id"], Recall.userid == _RELATION["userid"],
                   Recall.external_userid == _RELATION["external_userid"], Recall.action == RecallAction.CONTACT,
                   Recall.status.in_(OPEN), Recall.outcome.is_(None), RecallPlaybook.status != PlaybookStatus.DELETED)
            .order_by(Recall.created_at.desc(), Recall.id.desc()).limit(1))


@functools.cache
def reminders_query() -> Select:
    # (The sidebar profile reads it in one batch with its other reads, scrm/services/profile/reads.py.)
    return (select(Recall.id, Recall.due_at, RecallPlaybook.name)
            .join(RecallPlaybook, RecallPlaybook.id == Recall.playbook_id)
            .where(Recall.corp_id == _RELATION["corp_id"], Recall.userid == _RELATION["userid"],
                   Recall.external_userid == _RELATION["external_userid"], Recall.action == RecallAction.REMINDER,
                   Recall.status == RecallStatus.SENT, Recall.sent_from_sidebar_at.is_(None),
                   Recall.outcome.is_(None), RecallPlaybook.status != PlaybookStatus.DELETED)
            .order_by(Recall.due_at, Recall.id))


def recall_task(corp_id: str, userid: str, external_userid: str) -> dict[str, Any] | None:
    """The latest open recall task (action contact, not decided) of this relation, in the shape
    the sidebar's deleted-relation card renders (sidebar/CONTRACT.md ``recall``)."""
    row = db.session.execute(_task_query(), {"corp_id": corp_id, "userid": userid,
                                             "external_userid": external_userid}).first()
    if row is None:
        return None
    recall, playbook = row
    return {"id": recall.id, "title": f"找回客户：{playbook.name}", "status_label": status_label(recall),
            "due_at": recall.due_at, "script": script(recall, playbook),
            "done_at": recall.sent_from_sidebar_at}


def pending_reminders(corp_id: str, userid: str, external_userid: str) -> list[dict[str, Any]]:
    """Reminder recalls of this relation whose card went out but whose script was not yet sent
    from the sidebar (outcome not decided, playbook not deleted), oldest first: the customer view
    offers them wherever the sidebar is opened, not only from the card."""
    return reminders_from_rows(core_execute(reminders_query(), {"corp_id": corp_id, "userid": userid,
                                                                "external_userid": external_userid}))


def reminders_from_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """pending_reminders() of reminders_query()'s rows."""
    return [{"id": recall_id, "playbook_name": name, "due_at": due_at} for recall_id, due_at, name in rows]


def view(recall: Recall, now: datetime | None = None) -> dict[str, Any]:
    """The recall and its script as sendChatMessage arguments (text, then the attachments that
    can be sent; ``unsendable`` counts the others). A contact task has nothing to send in WeCom."""
    now = now or utcnow()
    playbook = db.session.get(RecallPlaybook, recall.playbook_id)
    nickname, _ = outreach.names(recall.corp_id, recall.userid, recall.external_userid)
    text = script(recall, playbook)
    messages: list[dict] = []
    unsendable = 0
    if recall.action != RecallAction.CONTACT:
        attachments = chat_messages(recall.corp_id, playbook.attachments or [], now,
                                    [("recall_playbook", playbook.id)] * len(playbook.attachments or []))
        messages = ([{"msgtype": "text", "text": {"content": text}}] if text else []) + [m for m in attachments if m]
        unsendable = sum(1 for m in attachments if m is None)
    return {"recall": {
        "id": recall.id, "playbook_id": playbook.id, "playbook_name": playbook.name, "trigger": recall.trigger,
        "action": recall.action, "action_label": ACTION_LABELS[RecallAction(recall.action)],
        "external_userid": recall.external_userid, "customer_name": nickname, "status": recall.status,
        "status_label": status_label(recall), "due_at": recall.due_at, "sent_at": recall.sent_at,
        "window_ends_at": recall.window_ends_at, "outcome": recall.outcome,
        "sent_from_sidebar_at": recall.sent_from_sidebar_at, "script": text},
        "messages": messages, "unsendable": unsendable}


def record_sent(recall: Recall, ip: str | None = None) -> Recall:
    """The staff member sent the script from the sidebar (reminder), or reached the customer
    another way (contact): recorded once (later calls change nothing); audited, on the timeline.
    The caller commits."""
    now = utcnow()
    claimed = db.session.execute(update(Recall).where(
        Recall.id == recall.id, Recall.sent_from_sidebar_at.is_(None)).values(sent_from_sidebar_at=now)).rowcount
    if claimed:
        playbook = db.session.get(RecallPlaybook, recall.playbook_id)
        contact = recall.action == RecallAction.CONTACT
        access.audit(recall.corp_id, recall.userid, "recall_contacted" if contact else "send_recall", "recall",
                     str(recall.id), ip=ip, detail={"external_userid": recall.external_userid,
                                                    "playbook_id": recall.playbook_id})
        timeline.record(recall.corp_id, recall.external_userid, "recall_done", source="sidebar", userid=recall.userid,
                        occurred_at=now,
                        summary=f"{'已通过其他方式联系' if contact else '发送了召回话术'}「{playbook.name}」",
                        data={"recall_id": recall.id, "playbook_id": recall.playbook_id, "action": recall.action})
    db.session.flush()
    db.session.refresh(recall)
    return recall
