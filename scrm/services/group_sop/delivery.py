"""Running due group SOP executions (the ``messages`` queue's job): one job per plan, step and
owner claims that owner's due executions, checks each, and delivers them together.

* ``mass_send``: one WeCom group mass-send task (`add_msg_template`, chat_type group, sender =
  the group's owner) per owner and content, covering their due groups (≤ 2000 per task); the
  owner confirms it once in WeCom; results are read back by results.py.
* ``reminder``: one `message/send` text card to the owner listing the groups, linking to the
  sidebar; each group's sidebar view then offers the content, ready to send in one tap.

Checks, per execution: more than 24 h late (paused meanwhile, scheduler down) → skipped
``stale``; group dismissed → ``dismissed``; no longer a target → ``no_longer_target``; the
member of a new-member step left → ``member_left``; the owner left the company → failed
``owner_left``; the group's mass sends this month already at WeCom's per-group cap
(SCRM_GROUP_MONTHLY_CAP) → skipped ``monthly_cap``, reported, never silently dropped. Executions
of one group and step due together (several new members) are sent as one message.
"""
from __future__ import annotations

import calendar
import html
import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.content_limits import GROUP_NAME, GROUP_NICKNAMES, NICKNAME
from scrm.extensions import db
from scrm.models import (
    ExecutionStatus,
    GroupChat,
    GroupChatStatus,
    GroupMember,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
    GroupSopStep,
    Staff,
)
from scrm.services import localtime
from scrm.services.content import clip_bytes, render_text, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.services.group_sop import targets
from scrm.services.group_sop.planning import STALE_AFTER, owner_left
from scrm.services.sop import reminder_allowed
from scrm.wecom import WeComError, retry

MAX_ATTEMPTS = retry.TASK_MAX_ATTEMPTS
FIRST_CHECK = timedelta(minutes=2)  # owners confirm a group task quickly, or it waits (back-off)
CHATS_PER_TASK = 2000  # add_msg_template chat_id_list
E = GroupSopExecution
log = logging.getLogger(__name__)


def run_batches(runs: list[tuple[int, int, str]], as_of: datetime | None = None) -> list[str]:
    """Several (plan, step, owner) runs that one sweep enqueued as one job (planning.enqueue_due):
    each as run_batch, with its own claims and commits; one that raises does not stop the others,
    and the job then fails with the first error (RQ's failed registry shows it)."""
    outcomes, first_error = [], None
    for plan_id, step_id, owner in runs:
        try:
            outcomes.append(run_batch(plan_id, step_id, owner, as_of))
        except Exception as exc:  # noqa: BLE001 - raised again once the other runs had their turn
            db.session.rollback()
            log.exception("group SOP run of plan %s step %s failed", plan_id, step_id)
            outcomes.append(f"error {type(exc).__name__}")
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return outcomes


def run_batch(plan_id: int, step_id: int, owner: str, as_of: datetime | None = None) -> str:
    """Claim and deliver the due executions of (plan, step, owner). Returns what happened."""
    now = utcnow()
    as_of = as_of or now
    plan = db.session.get(GroupSop, plan_id)
    if plan is None or plan.status != GroupSopStatus.ACTIVE:
        return "paused"
    if plan.delivery == "reminder" and owner and not reminder_allowed(plan.corp_id, owner):
        db.session.execute(update(E).where(E.plan_id == plan_id, E.step_id == step_id, E.owner == owner,
                                           E.status == ExecutionStatus.PENDING).values(queued_at=None))
        db.session.commit()
        return "throttled"  # still pending: the next sweep enqueues it again
    owner_match = E.owner == owner if owner else E.owner.is_(None)
    claimed = db.session.scalars(
        update(E).where(E.plan_id == plan_id, E.step_id == step_id, owner_match,
                        E.status == ExecutionStatus.PENDING, E.due_at <= as_of)
        .values(status=ExecutionStatus.RUNNING, attempts=E.attempts + 1, started_at=now).returning(E.id)).all()
    db.session.commit()
    if not claimed:
        return "skipped"
    executions = list(db.session.scalars(select(E).where(E.id.in_(claimed)).order_by(E.chat_id, E.member_id)
                                         .execution_options(populate_existing=True)))
    step = db.session.get(GroupSopStep, step_id)
    ready = _check(plan, executions, as_of, now)
    db.session.commit()  # the checks' outcomes now: no write transaction stays open across WeCom calls
    if not ready:
        return "skipped"
    try:
        if plan.delivery == "mass_send":
            _mass_send(plan, step, ready, now)
        else:
            _remind(plan, step, ready, now)
    except WeComError as exc:
        for each in ready:
            if exc.retryable and each.attempts < MAX_ATTEMPTS:
                each.status, each.error, each.queued_at = ExecutionStatus.PENDING, str(exc), None
            else:
                _finish(each, ExecutionStatus.FAILED, now, "error", str(exc))
    db.session.commit()
    return ready[0].status


def _finish(execution: GroupSopExecution, status: ExecutionStatus, now: datetime, result: str,
            error: str | None = None) -> None:
    execution.status, execution.result, execution.error, execution.finished_at = status, result, error, now


def _check(plan: GroupSop, executions: list[GroupSopExecution], as_of: datetime,
           now: datetime) -> list[GroupSopExecution]:
    """The executions still to deliver; the others finished with their reason."""
    chats = {c.chat_id: c for c in db.session.scalars(select(GroupChat).where(
        GroupChat.corp_id == plan.corp_id, GroupChat.chat_id.in_({e.chat_id for e in executions})))}
    still = targets.matching(plan.corp_id, plan.targets or {}, chats)
    members = {e.member_id for e in executions if e.member_id}
    present = set(db.session.execute(select(GroupMember.chat_id, GroupMember.member_id).where(
        GroupMember.corp_id == plan.corp_id, GroupMember.member_id.in_(members),
        GroupMember.quit_time.is_(None))).all()) if members else set()
    ready = []
    for each in executions:
        chat = chats.get(each.chat_id)
        if as_of - each.due_at > STALE_AFTER:
            _finish(each, ExecutionStatus.SKIPPED, now, "stale", "more than 24 h past due")
        elif chat is None or chat.status == GroupChatStatus.DISMISSED:
            _finish(each, ExecutionStatus.SKIPPED, now, "dismissed", "the group was dismissed")
        elif each.chat_id not in still:
            _finish(each, ExecutionStatus.SKIPPED, now, "no_longer_target", "the group no longer matches the plan")
        elif each.member_id and (each.chat_id, each.member_id) not in present:
            _finish(each, ExecutionStatus.SKIPPED, now, "member_left", "the member left the group")
        elif owner_left(plan.corp_id, chat.owner):
            each.owner = chat.owner
            _finish(each, ExecutionStatus.FAILED, now, "owner_left", "the group's owner has left the company")
        else:
            each.owner = chat.owner
            ready.append(each)
    if plan.delivery == "mass_send":
        ready = _within_cap(plan.corp_id, ready, now)
    return ready


def month_start(now: datetime) -> tuple[datetime, int]:
    """The current local month's first instant (naive UTC) and its number of days."""
    local = localtime.to_local(now).date()
    return localtime.at_local(local.replace(day=1), "00:00"), calendar.monthrange(local.year, local.month)[1]


def monthly_cap(now: datetime) -> int:
    return settings().group_monthly_cap or month_start(now)[1]


def sent_this_month(corp_id: str, chat_ids, now: datetime) -> dict[str, int]:
    """Group mass sends created by our plans per group this local month (WeCom's cap counts
    every mass send to the group; those made outside the service show up as status 3)."""
    start, _ = month_start(now)
    return dict(db.session.execute(
        select(E.chat_id, func.count(func.distinct(E.msgid))).where(
            E.corp_id == corp_id, E.chat_id.in_(set(chat_ids)), E.delivery == "mass_send", E.msgid.is_not(None),
            E.status.in_((ExecutionStatus.AWAITING, ExecutionStatus.SENT)), E.started_at >= start)
        .group_by(E.chat_id)).all())


def _within_cap(corp_id: str, ready: list[GroupSopExecution], now: datetime) -> list[GroupSopExecution]:
    cap = monthly_cap(now)
    counts = sent_this_month(corp_id, {e.chat_id for e in ready}, now)
    kept = []
    for each in ready:
        if counts.get(each.chat_id, 0) >= cap:
            _finish(each, ExecutionStatus.SKIPPED, now, "monthly_cap",
                    f"the group already received {cap} mass sends this month (WeCom's per-group cap)")
        else:
            kept.append(each)
    return kept


def _names(corp_id: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not pairs:
        return {}
    rows = db.session.execute(select(GroupMember.chat_id, GroupMember.member_id, GroupMember.name,
                                     GroupMember.group_nickname).where(
        GroupMember.corp_id == corp_id, GroupMember.member_id.in_({m for _, m in pairs}))).all()
    return {(c, m): (nick or name or "新朋友") for c, m, name, nick in rows}


def rendered_text(step: GroupSopStep, chat: GroupChat | None, member_names: list[str], owner_name: str | None):
    if not step.text:
        return None
    names = "、".join(member_names[:GROUP_NICKNAMES]) + (
        f"等{len(member_names)}人" if len(member_names) > GROUP_NICKNAMES else "")
    text = step.text.replace(GROUP_NAME, clip_bytes((chat.name if chat else "") or "", 192))
    return render_text(text, nickname=names, staff_name=owner_name)


def contents(plan: GroupSop, step: GroupSopStep, ready: list[GroupSopExecution], now: datetime):
    """{chat_id: (content, [executions])}: each group's rendered content (one message per group)."""
    by_chat: dict[str, list[GroupSopExecution]] = defaultdict(list)
    for each in ready:
        by_chat[each.chat_id].append(each)
    chats = {c.chat_id: c for c in db.session.scalars(select(GroupChat).where(
        GroupChat.corp_id == plan.corp_id, GroupChat.chat_id.in_(by_chat)))}
    owners = {c.owner for c in chats.values()}
    owner_names = dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == plan.corp_id, Staff.userid.in_(owners))).all()) if owners else {}
    names = _names(plan.corp_id, [(e.chat_id, e.member_id) for e in ready if e.member_id]) \
        if NICKNAME in (step.text or "") else {}
    media = wecom_attachments(plan.corp_id, step.attachments or [], now)
    out = {}
    for chat_id, group in by_chat.items():
        chat = chats.get(chat_id)
        text = rendered_text(step, chat, [names.get((chat_id, e.member_id), "新朋友") for e in group if e.member_id],
                             owner_names.get(chat.owner) if chat else None)
        content: dict = {}
        if text:
            content["text"] = {"content": text}
        if media.attachments:
            content["attachments"] = media.attachments
        out[chat_id] = (content, group)
    return out


def _mass_send(plan: GroupSop, step: GroupSopStep, ready: list[GroupSopExecution], now: datetime) -> None:
    """One add_msg_template per owner and distinct content, over ≤ 2000 groups each."""
    batches: dict[tuple[str, str], list[tuple[dict, list[GroupSopExecution]]]] = defaultdict(list)
    for content, group in contents(plan, step, ready, now).values():
        if not content:
            for each in group:
                _finish(each, ExecutionStatus.FAILED, now, "error", "nothing to send (attachments expired)")
            continue
        batches[(group[0].owner, json.dumps(content, sort_keys=True))].append((content, group))
    client = wecom_client(plan.corp_id)
    for (owner, _), items in batches.items():
        for start in range(0, len(items), CHATS_PER_TASK):
            chunk = items[start:start + CHATS_PER_TASK]
            content = chunk[0][0]
            reply = client.add_msg_template({"chat_type": "group", "sender": owner,
                                             "chat_id_list": [group[0].chat_id for _, group in chunk], **content})
            failed = set(reply.get("fail_list") or [])
            for _, group in chunk:
                for each in group:
                    each.content, each.msgid = content, reply.get("msgid")
                    if each.chat_id in failed or not each.msgid:
                        _finish(each, ExecutionStatus.FAILED, now, "fail_list",
                                "WeCom did not accept the group (not the owner's, or over the mass-send quota)")
                        continue
                    each.status, each.sent_at, each.next_check_at, each.error = (
                        ExecutionStatus.AWAITING, now, now + FIRST_CHECK, None)
                    each.result = "not_sent_yet"
            db.session.commit()  # each WeCom task recorded as soon as it exists


def _remind(plan: GroupSop, step: GroupSopStep, ready: list[GroupSopExecution], now: datetime) -> None:
    """One text card to the owner listing the groups; each opens in the sidebar's group view."""
    owner = ready[0].owner
    by_chat = contents(plan, step, ready, now)
    names = dict(db.session.execute(select(GroupChat.chat_id, GroupChat.name).where(
        GroupChat.corp_id == plan.corp_id, GroupChat.chat_id.in_(by_chat))).all())
    listed = "、".join(html.escape(names.get(c) or "未命名群聊") for c in list(by_chat)[:3])
    more = f" 等{len(by_chat)}个群" if len(by_chat) > 3 else ""
    first = next(iter(by_chat.values()))
    preview = ((first[0].get("text") or {}).get("content") or f"{len(first[0].get('attachments') or [])} 个附件")
    step_name = step.name or f"第{step.position + 1}步"
    description = (f'<div class="gray">{html.escape(plan.name)} · {html.escape(step_name)}</div>'
                   f"<div>群聊：{listed}{more}</div>"
                   f'<div class="normal">{html.escape(preview[:120])}</div>')
    url = f"{settings().public_url}/sidebar/?group_sop={first[1][0].id}"
    wecom_client(plan.corp_id).send_app_message(owner, "textcard", {
        "title": "群SOP提醒：请在群聊中发送", "description": description, "url": url, "btntxt": "去发送"},
        enable_duplicate_check=1)
    for content, group in by_chat.values():
        for each in group:
            each.content, each.status, each.result, each.error = content, ExecutionStatus.AWAITING, "reminded", None
