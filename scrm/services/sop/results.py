"""What became of SOP steps: mass-send results read back from WeCom, and each customer's progress.

A mass-send task is tracked with `get_groupmsg_task`, then `get_groupmsg_send_result`; 41063
(still being dispatched) is checked again a minute later, a task the staff member has not sent
yet is checked again with a growing interval, and given up after GIVE_UP_AFTER.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, select

from scrm.clock import from_timestamp, utcnow
from scrm.extensions import core_execute, db
from scrm.models import Sop, SopEnrollment, SopStep, SopTask, TaskStatus
from scrm.services import outreach
from scrm.services.outreach import GIVE_UP_AFTER, SEND_RESULTS
from scrm.services.sop.delivery import finish, record
from scrm.wecom import WeComError, retry

DISPATCHING_RETRY = retry.DISPATCHING_RECHECK  # 41063


def check_task(task_id: int, as_of: datetime | None = None) -> str:
    """Has the staff member sent the mass-send task, and did it reach the customer?"""
    now = utcnow()
    task = db.session.get(SopTask, task_id)
    if task is None or task.status != TaskStatus.AWAITING or not task.msgid:
        return "skipped"
    try:
        staff_status, send = outreach.send_state(task.corp_id, task.msgid, task.userid, task.external_userid)
    except WeComError as exc:
        if exc.retryable:  # 41063: still being dispatched; -1, 45009...
            task.next_check_at, task.error = now + DISPATCHING_RETRY, str(exc)
            db.session.commit()
            return "retry"
        return finish(task, TaskStatus.FAILED, now, error=str(exc))
    step = db.session.get(SopStep, task.step_id)
    if send is not None and send.get("status") in SEND_RESULTS:
        result = SEND_RESULTS[send["status"]]
        task.result = result
        if result == "sent":
            task.sent_at = from_timestamp(send.get("send_time")) or now
            record(task, step, "sop_step_delivered", now, task.content, msgid=task.msgid)
            return finish(task, TaskStatus.SENT, now)
        return finish(task, TaskStatus.FAILED, now, error=result, result=result)
    if now - (task.sent_at or task.started_at or now) > GIVE_UP_AFTER:
        return finish(task, TaskStatus.FAILED, now, result="not_sent", error="the staff member never sent it")
    task.next_check_at = outreach.next_check(now, task.sent_at)  # back off
    task.result = "not_sent_yet" if staff_status != 2 else "pending"
    db.session.commit()
    return "awaiting"


# ---- progress (Open API) ---------------------------------------------------------------------

# The reads below run on every sidebar profile: built once, bound per call.
_ENROLLMENTS = functools.cache(lambda: select(SopEnrollment).where(
    SopEnrollment.corp_id == bindparam("corp_id"), SopEnrollment.external_userid == bindparam("external_userid"))
    .order_by(SopEnrollment.id))
_SOPS = functools.cache(lambda: select(Sop).where(Sop.id.in_(bindparam("ids", expanding=True))))
_TASKS = functools.cache(lambda: select(SopTask).where(SopTask.enrollment_id.in_(bindparam("ids", expanding=True)))
                         .order_by(SopTask.due_at, SopTask.id))
_STEPS = functools.cache(lambda: select(SopStep).where(SopStep.id.in_(bindparam("ids", expanding=True))))


def progress(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    enrollments = list(db.session.scalars(_ENROLLMENTS(), {"corp_id": corp_id, "external_userid": external_userid}))
    if not enrollments:
        return []
    sops = {s.id: s for s in db.session.scalars(_SOPS(), {"ids": sorted({e.sop_id for e in enrollments})})}
    tasks = list(db.session.scalars(_TASKS(), {"ids": [e.id for e in enrollments]}))
    steps = {s.id: s for s in db.session.scalars(_STEPS(), {"ids": sorted({t.step_id for t in tasks})})}
    out = []
    for enrollment in enrollments:
        mine = [t for t in tasks if t.enrollment_id == enrollment.id]
        out.append({
            "sop_id": enrollment.sop_id, "sop_name": sops[enrollment.sop_id].name,
            "sop_status": sops[enrollment.sop_id].status, "userid": enrollment.userid,
            "status": enrollment.status, "stop_reason": enrollment.stop_reason,
            "added_at": enrollment.added_at, "ended_at": enrollment.ended_at,
            "done": sum(1 for t in mine if t.status == TaskStatus.SENT), "total": len(mine),
            "steps": [{"task_id": t.id, "step_id": t.step_id, "position": steps[t.step_id].position,
                       "name": steps[t.step_id].name, "delivery": t.delivery, "due_at": t.due_at,
                       "status": t.status, "sent_at": t.sent_at, "result": t.result, "error": t.error}
                      for t in mine]})
    return out


@functools.cache
def summary_query() -> Select:
    # Built once (every sidebar profile asks: in one batch with its other reads,
    # scrm/services/profile/reads.py), bound per call.
    return (select(SopEnrollment.id, SopEnrollment.sop_id, Sop.name, SopEnrollment.status, SopEnrollment.userid,
                   SopTask.status, SopTask.due_at)
            .join(Sop, Sop.id == SopEnrollment.sop_id)
            .outerjoin(SopTask, SopTask.enrollment_id == SopEnrollment.id)
            .where(and_(SopEnrollment.corp_id == bindparam("corp_id"),
                        SopEnrollment.external_userid == bindparam("external_userid")))
            .order_by(SopEnrollment.id))


def summaries(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    """progress() in short, as the sidebar's profile shows it, in one read: per enrollment (in
    order) ``{"sop_id", "name", "status", "userid", "done", "total", "next_due_at"}``, where
    ``next_due_at`` is the earliest due time of its pending tasks."""
    return summaries_from_rows(core_execute(summary_query(), {"corp_id": corp_id, "external_userid": external_userid}))


def summaries_from_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """summaries() of summary_query()'s rows."""
    out: dict[int, dict[str, Any]] = {}
    for enrollment_id, sop_id, name, status, userid, task_status, due_at in rows:
        item = out.get(enrollment_id)
        if item is None:
            item = out[enrollment_id] = {"sop_id": sop_id, "name": name, "status": status, "userid": userid,
                                         "done": 0, "total": 0, "next_due_at": None}
        if task_status is None:  # no task (outer join)
            continue
        item["total"] += 1
        item["done"] += int(task_status == TaskStatus.SENT)
        if task_status == TaskStatus.PENDING and due_at is not None and (item["next_due_at"] is None
                                                                or due_at < item["next_due_at"]):
            item["next_due_at"] = due_at
    return list(out.values())
