"""Operators' group SOP authoring (the Open API): create, edit, pause, resume and delete a plan.

Edits apply to executions not yet run: content is read when an execution runs; a change of
targets, schedule or steps drops the plan's pending executions that have not started and plans
again at once (removed steps' pending executions are cancelled). Pause keeps executions
pending (due ones wait); resume plans again and runs what fell due meanwhile unless it is more
than 24 h late; delete cancels what is pending and the reminders still waiting for their owner
(the card's sidebar link then says there is nothing to send; a mass send already created in WeCom
stays the owner's to confirm).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    CommunityStatus,
    ExecutionStatus,
    GroupCode,
    GroupLabel,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
    GroupSopStep,
    ScheduleKind,
)
from scrm.services.content import validate_attachments
from scrm.services.group_sop import targets as target_rules
from scrm.services.group_sop.planning import live_steps, plan_one
from scrm.services.group_sop.tidying import close_executions
from scrm.services.localtime import to_local
from scrm.services.validation import raise_if

STEP_FIELDS = ("name", "delay_minutes", "day_offset", "at_time", "text", "attachments")
E = GroupSopExecution


def _check(corp_id: str, data: dict[str, Any], now: datetime) -> None:
    errors: dict[str, list[str]] = {}
    for index, step in enumerate(data.get("steps") or []):
        for key, messages in validate_attachments(corp_id, step.get("attachments") or []).items():
            errors[f"steps.{index}.{key}"] = messages
    found = data.get("targets") or {}
    for key, model, what in (("label_ids", GroupLabel, "group label"), ("group_code_ids", GroupCode, "group code")):
        wanted = set(found.get(key) or [])
        if wanted:
            query = select(model.id).where(model.corp_id == corp_id, model.id.in_(wanted))
            if model is GroupCode:
                query = query.where(GroupCode.status == CommunityStatus.ACTIVE)
            missing = sorted(wanted - set(db.session.scalars(query)))
            if missing:
                errors[f"targets.{key}"] = [f"Unknown {what} id(s): {', '.join(map(str, missing))}."]
    schedule = data.get("schedule") or {}
    if schedule.get("kind") == ScheduleKind.ONCE and schedule.get("at"):
        at = datetime.fromisoformat(schedule["at"])
        if at <= to_local(now).replace(tzinfo=None, second=0, microsecond=0):
            errors["schedule.at"] = ["Must be in the future (corp-local time)."]
    raise_if(errors)


def _new_step(plan: GroupSop, position: int, data: dict) -> GroupSopStep:
    step = GroupSopStep(corp_id=plan.corp_id, plan_id=plan.id, position=position, attachments=[])
    _apply_step(step, data)
    return step


def _apply_step(step: GroupSopStep, data: dict) -> None:
    if any(key in data for key in ("delay_minutes", "day_offset", "at_time")):  # the time as a whole
        step.delay_minutes = step.day_offset = step.at_time = None
    for key in STEP_FIELDS:
        if key in data:
            setattr(step, key, data[key])
    step.attachments = step.attachments or []


def create(corp_id: str, data: dict[str, Any], now: datetime | None = None) -> GroupSop:
    now = now or utcnow()
    _check(corp_id, data, now)
    plan = GroupSop(corp_id=corp_id, name=data["name"], targets=target_rules.normalize(data["targets"]),
                    schedule=data["schedule"], delivery=data["delivery"], starts_at=now,
                    status=GroupSopStatus.PAUSED if data.get("paused") else GroupSopStatus.ACTIVE)
    db.session.add(plan)
    db.session.flush()
    for position, step in enumerate(data["steps"]):
        db.session.add(_new_step(plan, position, step))
    db.session.flush()
    plan_one(plan, now)
    plan.planned_at = now
    db.session.commit()
    return plan


def get(corp_id: str, plan_id: int) -> GroupSop | None:
    plan = db.session.get(GroupSop, plan_id)
    return plan if plan and plan.corp_id == corp_id and plan.status != GroupSopStatus.DELETED else None


def _drop_unstarted(plan: GroupSop) -> None:
    """Pending executions not yet enqueued or due are re-planned from the new definition."""
    db.session.execute(delete(E).where(E.plan_id == plan.id, E.status == ExecutionStatus.PENDING,
                                       E.attempts == 0))


def update_plan(plan: GroupSop, data: dict[str, Any], now: datetime | None = None) -> GroupSop:
    """Edit a plan; ``steps``, when given, is the whole new list (a step with an ``id`` is kept,
    one without is new, a missing one is removed)."""
    now = now or utcnow()
    merged = {"schedule": plan.schedule, **data}
    _check(plan.corp_id, merged if "schedule" in data else {**data, "schedule": {}}, now)
    replan = False
    if "name" in data:
        plan.name = data["name"]
    if "targets" in data:
        plan.targets, replan = target_rules.normalize(data["targets"]), True
    if "schedule" in data:
        plan.schedule, replan = data["schedule"], True
    if "delivery" in data and data["delivery"] != plan.delivery:
        plan.delivery, replan = data["delivery"], True
    if "steps" in data:
        current = {step.id: step for step in live_steps([plan.id])[plan.id]}
        unknown = [s["id"] for s in data["steps"] if s.get("id") is not None and s["id"] not in current]
        if unknown:
            raise_if({"steps": [f"Step {unknown[0]} is not a step of this plan."]})
        kept = set()
        for position, item in enumerate(data["steps"]):
            step = current.get(item.get("id"))
            if step is None:
                db.session.add(_new_step(plan, position, item))
                continue
            kept.add(step.id)
            step.position = position
            _apply_step(step, item)
        removed = [step_id for step_id in current if step_id not in kept]
        if removed:
            for step_id in removed:
                current[step_id].deleted = True
            close_executions(E.step_id.in_(removed), ExecutionStatus.CANCELLED, "cancelled", "step removed", now)
        replan = True
    if replan:
        _drop_unstarted(plan)
        db.session.flush()
        plan_one(plan, now)
        plan.planned_at = now
    db.session.commit()
    return plan


def set_status(plan: GroupSop, status: GroupSopStatus, now: datetime | None = None) -> GroupSop:
    now = now or utcnow()
    plan.status = status
    if status == GroupSopStatus.DELETED:
        close_executions(E.plan_id == plan.id, ExecutionStatus.CANCELLED, "cancelled", "plan deleted", now)
        db.session.execute(update(E).where(E.plan_id == plan.id, E.delivery == "reminder",
                                           E.status == ExecutionStatus.AWAITING)
                           .values(status=ExecutionStatus.CANCELLED, result="cancelled", error="plan deleted",
                                   finished_at=now))
    elif status == GroupSopStatus.ACTIVE:
        db.session.flush()
        plan_one(plan, now)
        plan.planned_at = now
    db.session.commit()
    return plan
