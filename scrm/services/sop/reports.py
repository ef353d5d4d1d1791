"""What an SOP did and will do, for operators: its tasks by due time (the execution calendar)
and its results (tasks by status and by WeCom result, per step, and the failure reasons)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from scrm.extensions import db
from scrm.models import Sop, SopStep, SopTask, Staff, TaskStatus

REASONS_SHOWN = 20  # the most frequent failure / skip reasons listed


def tasks_query(sop: Sop, *, status: str | None = None, start: datetime | None = None,
                end: datetime | None = None, userid: str | None = None) -> Select:
    """The SOP's tasks with due time in [start, end), by due time."""
    query = select(SopTask).where(SopTask.sop_id == sop.id)
    if status:
        query = query.where(SopTask.status == status)
    if userid:
        query = query.where(SopTask.userid == userid)
    if start:
        query = query.where(SopTask.due_at >= start)
    if end:
        query = query.where(SopTask.due_at < end)
    return query.order_by(SopTask.due_at, SopTask.id)


def describe_tasks(sop: Sop, rows: list[SopTask]) -> list[dict[str, Any]]:
    """One page of tasks with the step's and the staff member's names (customers by external_userid only:
    their names stay behind the audited customer reads)."""
    steps = {s.id: s for s in db.session.scalars(select(SopStep).where(SopStep.sop_id == sop.id))}
    staff = dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == sop.corp_id, Staff.userid.in_({r.userid for r in rows}))).all()) if rows else {}
    out = []
    for task in rows:
        step = steps.get(task.step_id)
        out.append({"id": task.id, "step_id": task.step_id, "position": step.position if step else None,
                    "step_name": (step.name or f"第{step.position + 1}步") if step else None,
                    "userid": task.userid, "staff_name": staff.get(task.userid),
                    "external_userid": task.external_userid,
                    "delivery": task.delivery, "due_at": task.due_at, "status": task.status,
                    "result": task.result, "error": task.error, "sent_at": task.sent_at,
                    "finished_at": task.finished_at})
    return out


def results(sop: Sop) -> dict[str, Any]:
    """Tasks by status and by WeCom result, per step; the commonest reasons of failed and skipped ones."""
    rows = db.session.execute(select(SopTask.step_id, SopTask.status, SopTask.result, func.count())
                              .where(SopTask.sop_id == sop.id)
                              .group_by(SopTask.step_id, SopTask.status, SopTask.result)).all()
    by_status: Counter = Counter()
    by_result: Counter = Counter()
    per_step: dict[int, Counter] = {}
    for step_id, status, result, count in rows:
        by_status[status] += count
        if result:
            by_result[result] += count
        per_step.setdefault(step_id, Counter())[status] += count
    reason = func.coalesce(SopTask.error, SopTask.result, "")
    reasons = db.session.execute(
        select(SopTask.status, reason.label("reason"), func.count().label("n"))
        .where(SopTask.sop_id == sop.id, SopTask.status.in_((TaskStatus.FAILED, TaskStatus.SKIPPED)))
        .group_by(SopTask.status, reason).order_by(func.count().desc(), SopTask.status).limit(REASONS_SHOWN)).all()
    steps = {s.id: s for s in db.session.scalars(select(SopStep).where(SopStep.sop_id == sop.id))}
    customers = db.session.scalar(select(func.count(func.distinct(SopTask.external_userid)))
                                  .where(SopTask.sop_id == sop.id))
    return {
        "sop_id": sop.id, "customers": customers or 0, "by_status": dict(by_status), "by_result": dict(by_result),
        "steps": [{"step_id": step_id, "position": steps[step_id].position if step_id in steps else None,
                   "name": steps[step_id].name if step_id in steps else None, "by_status": dict(counts)}
                  for step_id, counts in sorted(per_step.items())],
        "reasons": [{"status": status, "reason": text or None, "count": n} for status, text, n in reasons],
    }
