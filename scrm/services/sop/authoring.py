"""Operators' SOP authoring (the Open API): create, edit, pause and delete an SOP and its steps.

Edits apply to steps not yet run: changed steps recompute their pending tasks' due_at, removed
steps cancel them, new steps get tasks where still in the future. Pause keeps tasks pending;
delete cancels them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import EnrollmentStatus, Sop, SopEnrollment, SopStatus, SopStep, SopTask, TaskStatus
from scrm.services.channels import known_tags
from scrm.services.content import validate_attachments
from scrm.services.sop.scheduling import close_tasks, reschedule, steps_of
from scrm.services.validation import raise_if

STEP_FIELDS = ("name", "anchor", "date_key", "yearly", "delay_minutes", "day_offset", "at_time", "text",
               "attachments", "delivery")


def _check(corp_id: str, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for index, step in enumerate(data.get("steps") or []):
        for key, messages in validate_attachments(corp_id, step.get("attachments") or []).items():
            errors[f"steps.{index}.{key}"] = messages
    tag_ids = (data.get("conditions") or {}).get("tag_ids") or []
    unknown = [t for t in tag_ids if t not in known_tags(corp_id, tag_ids)]
    if unknown:
        errors["conditions.tag_ids"] = [f"Unknown tag id(s): {', '.join(unknown)}."]
    raise_if(errors)


def create(corp_id: str, data: dict[str, Any]) -> Sop:
    _check(corp_id, data)
    sop = Sop(corp_id=corp_id, name=data["name"], conditions=_conditions(data.get("conditions")),
              status=SopStatus.PAUSED if data.get("paused") else SopStatus.ACTIVE)
    db.session.add(sop)
    db.session.flush()
    for position, step in enumerate(data["steps"]):
        db.session.add(_new_step(sop, position, step))
    db.session.commit()
    return sop


def _conditions(value: dict | None) -> dict:
    value = value or {}
    return {key: list(dict.fromkeys(value.get(key) or [])) for key in ("channel_ids", "tag_ids", "userids")}


def _new_step(sop: Sop, position: int, data: dict) -> SopStep:
    step = SopStep(corp_id=sop.corp_id, sop_id=sop.id, position=position, attachments=[])
    _apply_step(step, data)
    return step


TIMING_FIELDS = ("anchor", "date_key", "yearly", "delay_minutes", "day_offset", "at_time")


def _apply_step(step: SopStep, data: dict) -> None:
    if any(key in data for key in TIMING_FIELDS):  # the time is replaced as a whole, never mixed
        step.date_key = step.delay_minutes = step.day_offset = step.at_time = None
        step.yearly = False
    for key in STEP_FIELDS:
        if key in data:
            setattr(step, key, data[key])
    step.attachments = step.attachments or []
    step.yearly = bool(step.yearly)


def get(corp_id: str, sop_id: int) -> Sop | None:
    sop = db.session.get(Sop, sop_id)
    return sop if sop and sop.corp_id == corp_id and sop.status != SopStatus.DELETED else None


def update_sop(sop: Sop, data: dict[str, Any], now: datetime | None = None) -> Sop:
    """Edit name/conditions and (when given) the whole step list: a step with an ``id`` is
    kept and changed, one without is new, a missing one is removed. Only tasks not yet run change."""
    now = now or utcnow()
    _check(sop.corp_id, data)
    if "name" in data:
        sop.name = data["name"]
    if "conditions" in data:
        sop.conditions = _conditions(data["conditions"])
    if "steps" in data:
        current = {step.id: step for step in steps_of([sop.id])[sop.id]}
        unknown = [s["id"] for s in data["steps"] if s.get("id") is not None and s["id"] not in current]
        if unknown:
            raise_if({"steps": [f"Step {unknown[0]} is not a step of this SOP."]})
        kept: set[int] = set()
        changed: list[SopStep] = []
        added: list[SopStep] = []
        for position, item in enumerate(data["steps"]):
            step = current.get(item.get("id"))
            if step is None:
                step = _new_step(sop, position, item)
                db.session.add(step)
                added.append(step)
                continue
            kept.add(step.id)
            step.position = position
            _apply_step(step, item)
            changed.append(step)
        removed = [step_id for step_id in current if step_id not in kept]
        if removed:
            db.session.execute(update(SopStep).where(SopStep.id.in_(removed)).values(deleted=True))
            close_tasks(SopTask.step_id.in_(removed), TaskStatus.CANCELLED, "step removed", now)
        db.session.flush()
        reschedule(sop, changed, added, now)
    db.session.commit()
    return sop


def set_status(sop: Sop, status: SopStatus, now: datetime | None = None) -> Sop:
    now = now or utcnow()
    sop.status = status
    if status == SopStatus.DELETED:
        close_tasks(and_(SopTask.sop_id == sop.id, SopTask.status == TaskStatus.PENDING),
                     TaskStatus.CANCELLED, "SOP deleted", now)
        db.session.execute(update(SopEnrollment).where(
            SopEnrollment.sop_id == sop.id, SopEnrollment.status == EnrollmentStatus.ACTIVE)
            .values(status=EnrollmentStatus.STOPPED, stop_reason="sop_deleted", ended_at=now))
    db.session.commit()
    return sop
