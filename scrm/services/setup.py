"""The sidebar's set-up, as operators change it through the Open API: funnel stages, custom
customer fields, staff roles. Each write is one use case that owns its transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CustomField, FunnelStage, Staff, StaffRole
from scrm.services import access, policy, profile
from scrm.services.validation import Invalid


def _save(row: Any, data: dict[str, Any]) -> Any:
    for key, value in data.items():
        setattr(row, key, value)
    db.session.add(row)
    db.session.commit()
    return row


# ---- funnel stages ----------------------------------------------------------------------------

def list_stages(corp_id: str) -> list[FunnelStage]:
    """The corp's stages; a corp that defined none gets (and keeps) the default ones."""
    rows = profile.stages(corp_id)
    db.session.commit()
    return rows


def get_stage(corp_id: str, stage_id: int) -> FunnelStage | None:
    return db.session.scalar(select(FunnelStage).filter_by(id=stage_id, corp_id=corp_id, deleted=False))


def create_stage(corp_id: str, data: dict[str, Any]) -> FunnelStage:
    profile.stages(corp_id)  # the defaults first, so a new stage joins them rather than replacing them
    return _save(FunnelStage(corp_id=corp_id), data)


def update_stage(stage: FunnelStage, data: dict[str, Any]) -> FunnelStage:
    return _save(stage, data)


def delete_stage(stage: FunnelStage) -> None:
    """Customers in it show no stage; their history keeps it."""
    _save(stage, {"deleted": True})


# ---- custom fields ----------------------------------------------------------------------------

def get_field(corp_id: str, field_id: int) -> CustomField | None:
    return db.session.scalar(select(CustomField).filter_by(id=field_id, corp_id=corp_id, deleted=False))


def create_field(corp_id: str, data: dict[str, Any]) -> CustomField:
    """Invalid when the key was ever used in the corp (keys are never reused)."""
    if db.session.scalar(select(CustomField.id).filter_by(corp_id=corp_id, key=data["key"])):
        raise Invalid({"key": ["A field with this key exists (keys are never reused)."]})
    return _save(CustomField(corp_id=corp_id), data)


def update_field(field: CustomField, data: dict[str, Any]) -> CustomField:
    if field.type == "select" and "options" in data and not data["options"]:
        raise Invalid({"options": ["A select field needs at least one option."]})
    return _save(field, data)


def delete_field(field: CustomField) -> None:
    """Hidden from the sidebar; stored values are kept."""
    _save(field, {"deleted": True})


# ---- staff roles ------------------------------------------------------------------------------

def list_roles(corp_id: str) -> list[StaffRole]:
    return list(db.session.scalars(select(StaffRole).filter_by(corp_id=corp_id).order_by(StaffRole.userid)))


def get_role(corp_id: str, userid: str) -> StaffRole | None:
    return db.session.scalar(select(StaffRole).filter_by(corp_id=corp_id, userid=userid))


def is_member(corp_id: str, userid: str) -> bool:
    return db.session.scalar(select(Staff.id).filter_by(corp_id=corp_id, userid=userid)) is not None


def set_role(corp_id: str, userid: str, data: dict[str, Any], actor: str | None = None) -> StaffRole:
    """Assign a member's role and data scope (default: the role's natural scope); audited."""
    data = {**data, "data_scope": data.get("data_scope") or policy.NATURAL_SCOPE[data["role"]]}
    row = get_role(corp_id, userid) or StaffRole(corp_id=corp_id, userid=userid)
    for key, value in data.items():
        setattr(row, key, value)
    db.session.add(row)
    if actor:
        access.audit(corp_id, actor[:64], "set_role", "staff", userid,
                     detail={"role": data["role"], "data_scope": data["data_scope"]})
    db.session.commit()
    return row


def delete_role(role: StaffRole, actor: str | None = None) -> None:
    """Back to the default from WeCom (manager of their departments if they lead one, else sales)."""
    if actor:
        access.audit(role.corp_id, actor[:64], "delete_role", "staff", role.userid)
    db.session.delete(role)
    db.session.commit()
