"""What became of group SOP executions: mass-send results read back from WeCom, the one-tap send
from the sidebar, per-plan results and the calendar.

A mass-send task is tracked per ``msgid``: `get_groupmsg_task` (has the owner sent it?), then
`get_groupmsg_send_result` per group: 1 sent, 2 failed (the group was dismissed or the sender is
no longer its owner: ``not_owner``), 3 the group already received its mass sends for the period
(``already_received``). 41063 (still being dispatched) is checked again a minute later; a task
the owner has not sent is checked again with a growing interval and given up after 3 days
(``not_sent``); an owner who left the company meanwhile fails it (``owner_left``).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from scrm.clock import from_timestamp, utcnow
from scrm.extensions import db
from scrm.models import ExecutionStatus, GroupChat, GroupSop, GroupSopExecution, GroupSopStatus, GroupSopStep
from scrm.services.corps import wecom_client
from scrm.services.group_sop.delivery import FIRST_CHECK
from scrm.services.group_sop.planning import owner_left
from scrm.services.outreach import pages
from scrm.wecom import WeComError, retry

E = GroupSopExecution
MAX_CHECK_INTERVAL = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
SEND_RESULTS = {1: ("sent", ExecutionStatus.SENT), 2: ("not_owner", ExecutionStatus.FAILED),
                3: ("already_received", ExecutionStatus.FAILED)}
RESULT_ERRORS = {"not_owner": "the group was dismissed or the sender is no longer its owner",
                 "already_received": "the group already received another mass send (WeCom's per-group cap)"}


def check_msg(msgid: str, as_of: datetime | None = None) -> str:
    """Read back one group mass-send task's results and update its executions."""
    now = utcnow()
    waiting = list(db.session.scalars(select(E).where(E.msgid == msgid, E.status == ExecutionStatus.AWAITING)))
    if not waiting:
        return "skipped"
    client = wecom_client(waiting[0].corp_id)
    try:
        tasks = pages(lambda c: client.get_groupmsg_task(msgid, cursor=c), "task_list")
        statuses = {t.get("userid"): t.get("status") for t in tasks}
        sends: dict[tuple[str, str], dict] = {}
        for owner in sorted({e.owner for e in waiting if statuses.get(e.owner) == 2}):
            for row in pages(lambda c, o=owner: client.get_groupmsg_send_result(msgid, o, cursor=c), "send_list"):
                sends[(owner, row.get("chat_id"))] = row
    except WeComError as exc:
        for each in waiting:
            if exc.retryable:
                each.next_check_at, each.error = now + retry.DISPATCHING_RECHECK, str(exc)
            else:
                each.status, each.result, each.error, each.finished_at = ExecutionStatus.FAILED, "error", str(exc), now
        db.session.commit()
        return "retry" if exc.retryable else "failed"
    left = {owner for owner in {e.owner for e in waiting} if owner_left(waiting[0].corp_id, owner)}
    for each in waiting:
        _apply(each, sends.get((each.owner, each.chat_id)), statuses.get(each.owner), each.owner in left, now)
    db.session.commit()
    return "checked"


def _apply(each: GroupSopExecution, send: dict | None, owner_status: int | None, left: bool, now: datetime) -> None:
    if send is not None and send.get("status") in SEND_RESULTS:
        result, final = SEND_RESULTS[send["status"]]
        each.status, each.result, each.finished_at = final, result, now
        each.error = RESULT_ERRORS.get(result)
        if result == "sent":
            each.sent_at = from_timestamp(send.get("send_time")) or now
    elif left:
        each.status, each.result, each.finished_at = ExecutionStatus.FAILED, "owner_left", now
        each.error = "the owner left the company before sending it"
    elif now - (each.sent_at or each.started_at or now) > GIVE_UP_AFTER:
        each.status, each.result, each.finished_at = ExecutionStatus.FAILED, "not_sent", now
        each.error = "the owner never confirmed the mass send"
    else:
        waited = now - (each.sent_at or now)
        each.next_check_at = now + min(max(FIRST_CHECK, waited), MAX_CHECK_INTERVAL)
        each.result = "not_sent_yet" if owner_status != 2 else "pending"


# ---- the sidebar's one-tap send -----------------------------------------------------------------

def mark_sent_from_sidebar(execution: GroupSopExecution, now: datetime | None = None) -> bool:
    """A reminder's content was sent in the group from the sidebar: the execution (and the
    other executions of the same step for that group waiting with it) are sent. Once."""
    now = now or utcnow()
    done = db.session.execute(update(E).where(
        E.plan_id == execution.plan_id, E.step_id == execution.step_id, E.chat_id == execution.chat_id,
        E.delivery == "reminder", E.status == ExecutionStatus.AWAITING)
        .values(status=ExecutionStatus.SENT, result="sent", sent_at=now, finished_at=now)).rowcount
    db.session.commit()
    return bool(done)


# ---- reading ------------------------------------------------------------------------------------

def execution_dict(e: GroupSopExecution, plans: dict[int, GroupSop], steps: dict[int, GroupSopStep],
                   names: dict[str, str | None]) -> dict[str, Any]:
    step = steps.get(e.step_id)
    return {"id": e.id, "plan_id": e.plan_id, "plan_name": plans[e.plan_id].name if e.plan_id in plans else None,
            "step_id": e.step_id, "step_name": (step.name or f"第{step.position + 1}步") if step else None,
            "chat_id": e.chat_id, "group_name": names.get(e.chat_id), "member_id": e.member_id or None,
            "owner": e.owner, "delivery": e.delivery, "due_at": e.due_at, "status": e.status, "result": e.result,
            "error": e.error, "msgid": e.msgid, "sent_at": e.sent_at, "finished_at": e.finished_at}


def describe_rows(rows: list[GroupSopExecution]) -> list[dict[str, Any]]:
    plans = {p.id: p for p in db.session.scalars(select(GroupSop).where(GroupSop.id.in_({r.plan_id for r in rows})))}
    steps = {s.id: s for s in db.session.scalars(select(GroupSopStep).where(
        GroupSopStep.id.in_({r.step_id for r in rows})))}
    names = dict(db.session.execute(select(GroupChat.chat_id, GroupChat.name).where(
        GroupChat.chat_id.in_({r.chat_id for r in rows}))).all()) if rows else {}
    return [execution_dict(r, plans, steps, names) for r in rows]


def executions_query(corp_id: str, *, plan_id: int | None = None, chat_id: str | None = None,
                     status: str | None = None, start: datetime | None = None, end: datetime | None = None):
    """Executions of the corp's plans (the calendar when ``start``/``end`` bound the due time),
    ordered by due time."""
    query = select(E).where(E.corp_id == corp_id, E.plan_id.in_(
        select(GroupSop.id).where(GroupSop.corp_id == corp_id, GroupSop.status != GroupSopStatus.DELETED)))
    if plan_id is not None:
        query = query.where(E.plan_id == plan_id)
    if chat_id:
        query = query.where(E.chat_id == chat_id)
    if status:
        query = query.where(E.status == status)
    if start:
        query = query.where(E.due_at >= start)
    if end:
        query = query.where(E.due_at < end)
    return query.order_by(E.due_at, E.id)


def plan_results(plan: GroupSop) -> dict[str, Any]:
    """Per-plan figures: executions by status and by result, and per step."""
    rows = db.session.execute(select(E.step_id, E.status, E.result, func.count()).where(E.plan_id == plan.id)
                              .group_by(E.step_id, E.status, E.result)).all()
    by_status, by_result, per_step = Counter(), Counter(), {}
    for step_id, status, result, count in rows:
        by_status[status] += count
        if result:
            by_result[result] += count
        per_step.setdefault(step_id, Counter())[status] += count
    groups = db.session.scalar(select(func.count(func.distinct(E.chat_id))).where(E.plan_id == plan.id))
    return {"plan_id": plan.id, "groups": groups or 0, "by_status": dict(by_status), "by_result": dict(by_result),
            "steps": [{"step_id": step_id, "by_status": dict(counts)} for step_id, counts in sorted(per_step.items())]}
