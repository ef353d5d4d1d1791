"""Sidebar set-up and records: /api/v1/funnel-stages, /custom-fields, /staff-roles,
/follow-ups and /audit-log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import AuditLog, CustomField, FollowUp, FunnelStage, StaffRole
from scrm.schemas.sidebar import (
    AuditArgsSchema,
    AuditSchema,
    CustomFieldPatchSchema,
    CustomFieldSchema,
    FollowUpArgsSchema,
    FollowUpSchema,
    StaffRoleSchema,
    StagePatchSchema,
    StageSchema,
)
from scrm.services import profile
from scrm.services.validation import Invalid

blp = make_blueprint("sidebar-admin", __name__, "/api/v1",
                     "What the chat sidebar shows and records: the sales funnel, custom customer fields, "
                     "staff roles (data scope, mobile visibility), follow-ups and the audit log.")


def _apply(row: Any, data: dict[str, Any]) -> Any:
    for key, value in data.items():
        setattr(row, key, value)
    db.session.commit()
    return row


# ---- funnel stages ----------------------------------------------------------------------------

@blp.route("/funnel-stages")
@blp.response(200, StageSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_stages() -> list[FunnelStage]:
    """List the sales funnel's stages (a corp that defined none gets the default six)"""
    rows = profile.stages(current_corp_id())
    db.session.commit()
    return rows


@blp.route("/funnel-stages", methods=["POST"])
@blp.arguments(StageSchema)
@blp.response(201, StageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_stage(data: dict[str, Any]) -> FunnelStage:
    """Add a stage"""
    corp_id = current_corp_id()
    profile.stages(corp_id)  # the defaults first, so a new stage joins them rather than replacing them
    row = FunnelStage(corp_id=corp_id, **data)
    db.session.add(row)
    db.session.commit()
    return row


def _stage(stage_id: int) -> FunnelStage:
    return found(db.session.scalar(select(FunnelStage).filter_by(
        id=stage_id, corp_id=current_corp_id(), deleted=False)), "stage")


@blp.route("/funnel-stages/<int:stage_id>", methods=["PATCH"])
@blp.arguments(StagePatchSchema)
@blp.response(200, StageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_stage(data: dict[str, Any], stage_id: int) -> FunnelStage:
    """Rename or reorder a stage"""
    return _apply(_stage(stage_id), data)


@blp.route("/funnel-stages/<int:stage_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_stage(stage_id: int) -> None:
    """Delete a stage (customers in it show no stage; their history keeps it)"""
    _apply(_stage(stage_id), {"deleted": True})


# ---- custom fields ----------------------------------------------------------------------------

@blp.route("/custom-fields")
@blp.response(200, CustomFieldSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_fields() -> list[CustomField]:
    """List the corp's custom customer fields"""
    return profile.custom_fields(current_corp_id())


@blp.route("/custom-fields", methods=["POST"])
@blp.arguments(CustomFieldSchema)
@blp.response(201, CustomFieldSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_field(data: dict[str, Any]) -> CustomField:
    """Define a custom field (text, number, date or single-select)"""
    corp_id = current_corp_id()
    if db.session.scalar(select(CustomField.id).filter_by(corp_id=corp_id, key=data["key"])):
        with service_errors():
            raise Invalid({"key": ["A field with this key exists (keys are never reused)."]})
    row = CustomField(corp_id=corp_id, **data)
    db.session.add(row)
    db.session.commit()
    return row


def _field(field_id: int) -> CustomField:
    return found(db.session.scalar(select(CustomField).filter_by(
        id=field_id, corp_id=current_corp_id(), deleted=False)), "custom field")


@blp.route("/custom-fields/<int:field_id>", methods=["PATCH"])
@blp.arguments(CustomFieldPatchSchema)
@blp.response(200, CustomFieldSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_field(data: dict[str, Any], field_id: int) -> CustomField:
    """Change a field's label, options, required flag or order (its key and type are fixed)"""
    row = _field(field_id)
    if row.type == "select" and "options" in data and not data["options"]:
        with service_errors():
            raise Invalid({"options": ["A select field needs at least one option."]})
    return _apply(row, data)


@blp.route("/custom-fields/<int:field_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_field(field_id: int) -> None:
    """Delete a field (hidden from the sidebar; stored values are kept)"""
    _apply(_field(field_id), {"deleted": True})


# ---- staff roles ------------------------------------------------------------------------------

@blp.route("/staff-roles")
@blp.response(200, StaffRoleSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_roles() -> list[StaffRole]:
    """List staff roles (staff without one are salespeople: scope self, mobiles masked)"""
    return list(db.session.scalars(select(StaffRole).filter_by(corp_id=current_corp_id()).order_by(StaffRole.userid)))


@blp.route("/staff-roles/<userid>", methods=["PUT"])
@blp.arguments(StaffRoleSchema)
@blp.response(200, StaffRoleSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def set_role(data: dict[str, Any], userid: str) -> StaffRole:
    """Set a staff member's role and data scope"""
    corp_id = current_corp_id()
    row = db.session.scalar(select(StaffRole).filter_by(corp_id=corp_id, userid=userid))
    if row is None:
        row = StaffRole(corp_id=corp_id, userid=userid)
        db.session.add(row)
    return _apply(row, data)


@blp.route("/staff-roles/<userid>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_role(userid: str) -> None:
    """Remove a staff member's role (back to salesperson)"""
    row = found(db.session.scalar(select(StaffRole).filter_by(corp_id=current_corp_id(), userid=userid)), "role")
    db.session.delete(row)
    db.session.commit()


# ---- records ----------------------------------------------------------------------------------

@blp.route("/follow-ups")
@blp.arguments(FollowUpArgsSchema, location="query", as_kwargs=True)
@blp.response(200, FollowUpSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_follow_ups(pagination_parameters: PaginationParameters, userid: str | None = None,
                    external_userid: str | None = None, since: datetime | None = None) -> list[FollowUp]:
    """List follow-ups (跟进记录) written in the sidebar, newest first"""
    query = select(FollowUp).where(FollowUp.corp_id == current_corp_id())
    if userid:
        query = query.where(FollowUp.userid == userid)
    if external_userid:
        query = query.where(FollowUp.external_userid == external_userid)
    if since:
        query = query.where(FollowUp.created_at >= since)
    return page_of(query.order_by(FollowUp.created_at.desc(), FollowUp.id.desc()), pagination_parameters)


@blp.route("/audit-log")
@blp.arguments(AuditArgsSchema, location="query", as_kwargs=True)
@blp.response(200, AuditSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_audit(pagination_parameters: PaginationParameters, since: datetime | None = None,
               **filters: str) -> list[AuditLog]:
    """Who viewed or changed which customer or group in the sidebar, newest first"""
    query = select(AuditLog).where(AuditLog.corp_id == current_corp_id())
    for key, value in filters.items():
        if value:
            query = query.where(getattr(AuditLog, key) == value)
    if since:
        query = query.where(AuditLog.at >= since)
    return page_of(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()), pagination_parameters)

