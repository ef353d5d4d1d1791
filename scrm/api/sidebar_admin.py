"""Sidebar set-up and records: /api/v1/funnel-stages, /custom-fields, /staff-roles,
/follow-ups and /audit-log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scrm.api.auth import current_corp_id, require_scope
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.api.writes import found, service_errors
from scrm.models import AuditLog, CustomField, FollowUp, FunnelStage, StaffRole
from scrm.models.corp import TokenScope
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
from scrm.services import profile, setup

blp = make_blueprint("sidebar-admin", __name__, "/api/v1",
                     "What the chat sidebar shows and records: the sales funnel, custom customer fields, "
                     "staff roles (data scope, mobile visibility), follow-ups and the audit log.")


# ---- funnel stages ----------------------------------------------------------------------------

@blp.route("/funnel-stages")
@blp.response(200, StageSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_stages() -> list[FunnelStage]:
    """List the sales funnel's stages (a corp that defined none gets the default six)"""
    return setup.list_stages(current_corp_id())


@blp.route("/funnel-stages", methods=["POST"])
@blp.arguments(StageSchema)
@blp.response(201, StageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_stage(data: dict[str, Any]) -> FunnelStage:
    """Add a stage"""
    with service_errors():
        return setup.create_stage(current_corp_id(), data)


def _stage(stage_id: int) -> FunnelStage:
    return found(setup.get_stage(current_corp_id(), stage_id), "stage")


@blp.route("/funnel-stages/<int:stage_id>", methods=["PATCH"])
@blp.arguments(StagePatchSchema)
@blp.response(200, StageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_stage(data: dict[str, Any], stage_id: int) -> FunnelStage:
    """Rename or reorder a stage"""
    stage = _stage(stage_id)
    with service_errors():
        return setup.update_stage(stage, data)


@blp.route("/funnel-stages/<int:stage_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_stage(stage_id: int) -> None:
    """Delete a stage (customers in it show no stage; their history keeps it)"""
    stage = _stage(stage_id)
    with service_errors():
        setup.delete_stage(stage)


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
    with service_errors():
        return setup.create_field(current_corp_id(), data)


def _field(field_id: int) -> CustomField:
    return found(setup.get_field(current_corp_id(), field_id), "custom field")


@blp.route("/custom-fields/<int:field_id>", methods=["PATCH"])
@blp.arguments(CustomFieldPatchSchema)
@blp.response(200, CustomFieldSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_field(data: dict[str, Any], field_id: int) -> CustomField:
    """Change a field's label, options, required flag or order (its key and type are fixed)"""
    field = _field(field_id)
    with service_errors():
        return setup.update_field(field, data)


@blp.route("/custom-fields/<int:field_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_field(field_id: int) -> None:
    """Delete a field (hidden from the sidebar; stored values are kept)"""
    field = _field(field_id)
    with service_errors():
        setup.delete_field(field)


# ---- staff roles ------------------------------------------------------------------------------

@blp.route("/staff-roles")
@blp.response(200, StaffRoleSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_roles() -> list[StaffRole]:
    """List staff roles (staff without one are salespeople: scope self, mobiles masked)"""
    return setup.list_roles(current_corp_id())


@blp.route("/staff-roles/<userid>", methods=["PUT"])
@blp.arguments(StaffRoleSchema)
@blp.response(200, StaffRoleSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def set_role(data: dict[str, Any], userid: str) -> StaffRole:
    """Set a staff member's role and data scope (admin tokens only)"""
    require_scope(TokenScope.ADMIN)
    with service_errors():
        return setup.set_role(current_corp_id(), userid, data)


@blp.route("/staff-roles/<userid>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(404, response="NOT_FOUND")
def delete_role(userid: str) -> None:
    """Remove a staff member's role (back to salesperson; admin tokens only)"""
    require_scope(TokenScope.ADMIN)
    role = found(setup.get_role(current_corp_id(), userid), "role")
    with service_errors():
        setup.delete_role(role)


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
               until: datetime | None = None, **filters: str) -> list[AuditLog]:
    """Who viewed or changed what, newest first

    The sidebar's views and changes of customers and groups, the Open API's reads of personal
    data and erasures, and the operations page's retried and deleted jobs. Filters: exact
    `userid`, `action`, `target_type`, `target_id`; between `since` and `until`.
    """
    query = select(AuditLog).where(AuditLog.corp_id == current_corp_id())
    for key, value in filters.items():
        if value:
            query = query.where(getattr(AuditLog, key) == value)
    if since:
        query = query.where(AuditLog.at >= since)
    if until:
        query = query.where(AuditLog.at <= until)
    return page_of(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()), pagination_parameters)

