"""What became of SOP steps: mass-send results read back from WeCom, and each customer's progress.

A mass-send task is tracked with `get_groupmsg_task`, then `get_groupmsg_send_result`; 41063
(still being dispatched) is checked again a minute later, a task the staff member has not sent
yet is checked again with a growing interval, and given up after GIVE_UP_AFTER.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from scrm.clock import from_timestamp, utcnow
from scrm.extensions import db
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

def progress(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    enrollments = list(db.session.scalars(select(SopEnrollment).filter_by(
        corp_id=corp_id, external_userid=external_userid).order_by(SopEnrollment.id)))
    if not enrollments:
        return []
    sops = {s.id: s for s in db.session.scalars(select(Sop).where(Sop.id.in_({e.sop_id for e in enrollments})))}
    tasks = list(db.session.scalars(select(SopTask).where(SopTask.enrollment_id.in_([e.id for e in enrollments]))
                                    .order_by(SopTask.due_at, SopTask.id)))
    steps = {s.id: s for s in db.session.scalars(
        select(SopStep).where(SopStep.id.in_({t.step_id for t in tasks})))}
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
