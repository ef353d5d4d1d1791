"""Group SOPs in the chat sidebar's group view: the group's calendar (the next 7 days and the last
few done, in Chinese labels) and its pending reminders, each ready to send in one tap.

A reminder execution whose card went to the owner is ``awaiting`` with result ``reminded``; the
card links to ``/sidebar/?group_sop=<execution id>``. Only the group's current owner gets its
content (as ``ww.sendChatMessage`` arguments, rendered like the card: {group_name}, {nickname}
for the members of the executions waiting with it, {staff_name} the owner) and records it sent
(mark_sent_from_sidebar: the same step's executions for that group with it); anyone who may
view the group sees the calendar. Texts go out as-is: the page inserts them as text only.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, select

from scrm.clock import iso_z, utcnow
from scrm.extensions import db
from scrm.models import (
    ExecutionStatus,
    GroupChat,
    GroupMember,
    GroupSopExecution,
    GroupSopStep,
    Staff,
)
from scrm.services import access, library
from scrm.services.group_sop.delivery import rendered_text
from scrm.services.group_sop.results import describe_rows, executions_query, mark_sent_from_sidebar

E = GroupSopExecution
CALENDAR_DAYS = 7
CALENDAR_LIMIT = 30
RECENT_LIMIT = 5
PREVIEW_CHARS = 120
STATUS_LABELS = {"pending": "待执行", "running": "执行中", "sent": "已发送", "failed": "失败",
                 "skipped": "已跳过", "cancelled": "已取消"}
AWAITING_LABELS = {"reminder": "等待群主发送", "mass_send": "等待群主确认"}
DELIVERY_LABELS = {"reminder": "提醒群主发送", "mass_send": "群发"}
RESULT_LABELS = {
    "sent": "已发送", "reminded": "已提醒群主", "not_sent_yet": "群主尚未确认", "pending": "发送中",
    "not_sent": "群主未发送", "already_received": "该群已收到其他群发", "not_owner": "群已解散或发送者已不是群主",
    "owner_left": "群主已离职", "dismissed": "群已解散", "monthly_cap": "本月群发次数已达上限",
    "member_left": "成员已退群", "no_longer_target": "该群已不在计划范围内", "stale": "超过 24 小时未执行",
    "fail_list": "企业微信未接受该群", "error": "执行出错", "cancelled": "计划已删除",
}


class NotFound(Exception):
    """No such reminder execution in this corp."""


class NotYours(Exception):
    """The signed-in staff member is not the group's current owner."""


class Closed(Exception):
    """The reminder is no longer waiting (given up, or its group is gone): nothing to send."""


def status_label(status: str, delivery: str) -> str:
    return AWAITING_LABELS.get(delivery, "等待群主") if status == ExecutionStatus.AWAITING else \
        STATUS_LABELS.get(status, status)


def _row(d: dict[str, Any]) -> dict[str, Any]:
    """An execution as the sidebar shows it (results.describe_rows → labels, ISO times)."""
    return {"id": d["id"], "plan_id": d["plan_id"], "plan_name": d["plan_name"], "step_name": d["step_name"],
            "chat_id": d["chat_id"], "group_name": d["group_name"], "delivery": d["delivery"],
            "delivery_label": DELIVERY_LABELS.get(d["delivery"], d["delivery"]), "due_at": iso_z(d["due_at"]),
            "status": d["status"], "status_label": status_label(d["status"], d["delivery"]),
            "result": d["result"], "result_label": RESULT_LABELS.get(d["result"]) if d["result"] else None,
            "sent_at": iso_z(d["sent_at"]), "finished_at": iso_z(d["finished_at"])}


def _preview(content: dict | None) -> str:
    content = content or {}
    text = (content.get("text") or {}).get("content") or ""
    files = len(content.get("attachments") or [])
    return (text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")) or (f"{files} 个附件" if files else "")


def group_sops(corp_id: str, userid: str, chat_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The group's SOP block of the sidebar's group view (the caller checked the staff member may
    view the group): pending reminders (one per plan and step, oldest first), the executions due
    in the next 7 days (and those still to run), the last few others done or waiting."""
    now = now or utcnow()
    owner = db.session.scalar(select(GroupChat.owner).filter_by(corp_id=corp_id, chat_id=chat_id))
    base = executions_query(corp_id, chat_id=chat_id)
    waiting = list(db.session.scalars(base.where(E.delivery == "reminder", E.status == ExecutionStatus.AWAITING)))
    firsts: dict[tuple[int, int], E] = {}
    for each in waiting:
        firsts.setdefault((each.plan_id, each.step_id), each)
    to_run = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
    upcoming = list(db.session.scalars(base.where(E.status.in_(to_run), E.due_at < now + timedelta(days=CALENDAR_DAYS))
                                       .limit(CALENDAR_LIMIT)))
    waiting_reminder = and_(E.delivery == "reminder", E.status == ExecutionStatus.AWAITING)  # listed above
    recent = list(db.session.scalars(base.where(E.status.not_in(to_run), not_(waiting_reminder))
                                     .order_by(None).order_by(func.coalesce(E.finished_at, E.due_at).desc(),
                                                              E.id.desc()).limit(RECENT_LIMIT)))
    reminders = []
    for each, d in zip(firsts.values(), describe_rows(list(firsts.values())), strict=True):
        reminders.append({**_row(d), "preview": _preview(each.content), "can_send": owner is not None
                          and owner == userid})
    return {"reminders": reminders, "upcoming": [_row(d) for d in describe_rows(upcoming)],
            "recent": [_row(d) for d in describe_rows(recent)], "days": CALENDAR_DAYS}


# ---- one reminder: its content to send, and "sent" ---------------------------------------------

def own_execution(corp_id: str, userid: str, execution_id: int) -> GroupSopExecution:
    """A reminder execution of this corp (NotFound), of a group this staff member owns now (NotYours)."""
    execution = db.session.get(E, execution_id)
    if execution is None or execution.corp_id != corp_id or execution.delivery != "reminder":
        raise NotFound
    owner = db.session.scalar(select(GroupChat.owner).filter_by(corp_id=corp_id, chat_id=execution.chat_id))
    if owner is None or owner != userid:
        raise NotYours
    return execution


def _waiting_with(execution: GroupSopExecution) -> list[GroupSopExecution]:
    """The executions mark_sent_from_sidebar marks with this one (itself when none waits)."""
    rows = list(db.session.scalars(select(E).where(
        E.plan_id == execution.plan_id, E.step_id == execution.step_id, E.chat_id == execution.chat_id,
        E.delivery == "reminder", E.status == ExecutionStatus.AWAITING).order_by(E.due_at, E.id)))
    return rows or [execution]


def _member_names(corp_id: str, chat_id: str, member_ids: list[str]) -> list[str]:
    if not member_ids:
        return []
    rows = dict((m, nick or name or "新朋友") for m, name, nick in db.session.execute(
        select(GroupMember.member_id, GroupMember.name, GroupMember.group_nickname).where(
            GroupMember.corp_id == corp_id, GroupMember.chat_id == chat_id, GroupMember.member_id.in_(member_ids))))
    return [rows.get(m, "新朋友") for m in member_ids]


def execution_view(execution: GroupSopExecution, now: datetime | None = None) -> dict[str, Any]:
    """The reminder and its step's content as sendChatMessage arguments: the text rendered for
    the group (and the new members waiting with it), then the attachments that can be sent;
    ``unsendable`` counts the others (expired media, images given by URL)."""
    now = now or utcnow()
    step = db.session.get(GroupSopStep, execution.step_id)
    chat = db.session.scalar(select(GroupChat).filter_by(corp_id=execution.corp_id, chat_id=execution.chat_id))
    members = list(dict.fromkeys(e.member_id for e in _waiting_with(execution) if e.member_id))
    owner_name = db.session.scalar(select(Staff.name).filter_by(corp_id=execution.corp_id,
                                                                userid=chat.owner)) if chat else None
    text = rendered_text(step, chat, _member_names(execution.corp_id, execution.chat_id, members), owner_name)
    attachments = library.chat_messages(execution.corp_id, step.attachments or [], now,
                                        [("group_sop_step", step.id)] * len(step.attachments or []))
    messages = ([{"msgtype": "text", "text": {"content": text}}] if text else []) + [m for m in attachments if m]
    (row,) = describe_rows([execution])
    return {"execution": {**_row(row), "sendable": execution.status == ExecutionStatus.AWAITING},
            "messages": messages, "unsendable": sum(1 for m in attachments if m is None)}


def record_sent(execution: GroupSopExecution, userid: str, ip: str | None = None) -> GroupSopExecution:
    """The owner sent the reminder's content from the sidebar: it (and the same step's executions
    waiting with it for that group) are sent, audited once; again → unchanged. Commits.
    Raises Closed when it is neither waiting nor sent."""
    if execution.status == ExecutionStatus.SENT:
        return execution
    if execution.status != ExecutionStatus.AWAITING:
        raise Closed
    if mark_sent_from_sidebar(execution):
        access.audit(execution.corp_id, userid, "send_group_sop_step", "group_sop", str(execution.id),
                     ip=ip, detail={"chat_id": execution.chat_id, "plan_id": execution.plan_id,
                                    "step_id": execution.step_id})
    db.session.commit()
    db.session.refresh(execution)
    if execution.status != ExecutionStatus.SENT:
        raise Closed
    return execution

