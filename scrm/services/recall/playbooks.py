"""Operators' recall playbooks (the Open API): create, edit, pause, resume and delete.

A playbook applies to relations entering its trigger level from then on (the nightly run's level
changes); edits apply to recalls not yet sent; pause leaves due recalls waiting (they are skipped
when over a day late), delete cancels them. Content is checked as SOP step content is (the
schema: length once rendered; here: the media assets exist)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import FunnelStage, PlaybookStatus, Recall, RecallPlaybook, RecallStatus
from scrm.schemas.recall import check_pair
from scrm.services.channels import known_tags
from scrm.services.content import validate_attachments
from scrm.services.validation import raise_if

FIELDS = ("name", "trigger", "action", "text", "attachments", "priority", "cooldown_days")


def _segment(value: dict | None) -> dict[str, list]:
    value = value or {}
    return {"tag_ids": list(dict.fromkeys(value.get("tag_ids") or [])),
            "stage_ids": list(dict.fromkeys(value.get("stage_ids") or []))}


def _check(corp_id: str, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = dict(validate_attachments(corp_id, data.get("attachments") or []))
    segment = data.get("segment") or {}
    tag_ids = segment.get("tag_ids") or []
    unknown = [t for t in tag_ids if t not in known_tags(corp_id, tag_ids)]
    if unknown:
        errors["segment.tag_ids"] = [f"Unknown tag id(s): {', '.join(unknown)}."]
    stage_ids = segment.get("stage_ids") or []
    if stage_ids:
        live = set(db.session.scalars(select(FunnelStage.id).where(
            FunnelStage.corp_id == corp_id, FunnelStage.id.in_(stage_ids), FunnelStage.deleted.is_(False))))
        missing = [str(s) for s in stage_ids if s not in live]
        if missing:
            errors["segment.stage_ids"] = [f"Unknown funnel stage id(s): {', '.join(missing)}."]
    raise_if(errors)


def create(corp_id: str, data: dict[str, Any]) -> RecallPlaybook:
    _check(corp_id, data)
    playbook = RecallPlaybook(corp_id=corp_id, segment=_segment(data.get("segment")), attachments=[],
                              status=PlaybookStatus.PAUSED if data.get("paused") else PlaybookStatus.ACTIVE)
    _apply(playbook, data)
    db.session.add(playbook)
    db.session.commit()
    return playbook


def _apply(playbook: RecallPlaybook, data: dict[str, Any]) -> None:
    for key in FIELDS:
        if key in data:
            setattr(playbook, key, data[key])
    if "segment" in data:
        playbook.segment = _segment(data["segment"])
    playbook.attachments = playbook.attachments or []


def get(corp_id: str, playbook_id: int) -> RecallPlaybook | None:
    row = db.session.get(RecallPlaybook, playbook_id)
    return row if row and row.corp_id == corp_id and row.status != PlaybookStatus.DELETED else None


def update_playbook(playbook: RecallPlaybook, data: dict[str, Any]) -> RecallPlaybook:
    """Edit; the trigger and action pair is checked by the schema against the stored values."""
    try:
        check_pair(data.get("trigger", playbook.trigger), data.get("action", playbook.action))
    except ValidationError as exc:
        raise_if(exc.normalized_messages())
    if data.get("attachments") and data.get("action", playbook.action) == "contact":
        raise_if({"attachments": ["A contact task has no attachments (only a script)."]})
    _check(playbook.corp_id, data)
    _apply(playbook, data)
    if not playbook.text and not playbook.attachments:
        raise_if({"text": ["A playbook needs text or attachments."]})
    db.session.commit()
    return playbook


def set_status(playbook: RecallPlaybook, status: PlaybookStatus, now: datetime | None = None) -> RecallPlaybook:
    now = now or utcnow()
    playbook.status = status
    if status == PlaybookStatus.DELETED:
        db.session.execute(update(Recall).where(Recall.playbook_id == playbook.id,
                                                Recall.status == RecallStatus.PENDING)
                           .values(status=RecallStatus.CANCELLED, error="playbook deleted", finished_at=now))
    db.session.commit()
    return playbook
