"""Open API v1: what operators set up for the sidebar (funnel stages, custom fields, staff
roles) and what it records (follow-ups, the audit log)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.models import DataScope, RoleName
from scrm.schemas.common import SinceUntilMixin, UtcDateTime, described

ROLES = tuple(r.value for r in RoleName)
SCOPES = tuple(s.value for s in DataScope)


class StageSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    order = fields.Integer(load_default=0, metadata=described("Smaller first."))


class StagePatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=32))
    order = fields.Integer()


FIELD_TYPES = ("text", "number", "date", "select")


class CustomFieldPatchSchema(Schema):
    label = fields.String(validate=validate.Length(min=1, max=32))
    options = fields.List(fields.String(validate=validate.Length(min=1, max=32)), validate=validate.Length(max=50),
                          metadata=described("The choices of a `select` field."))
    required = fields.Boolean()
    order = fields.Integer()


class CustomFieldSchema(CustomFieldPatchSchema):
    id = fields.Integer(dump_only=True)
    key = fields.String(required=True, validate=[validate.Length(min=1, max=32), validate.Regexp(
        r"^[a-z][a-z0-9_]*$", error="Lower-case letters, digits and _ , starting with a letter.")],
        metadata=described("Stable key; a `date` field's values are also customer dates under this "
                           "key (SOP steps can be anchored to them)."))
    label = fields.String(required=True, validate=validate.Length(min=1, max=32))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    order = fields.Integer(load_default=0)

    @validates_schema(skip_on_field_errors=False)
    def _options(self, data, **kwargs):
        if data.get("type") == "select" and not data.get("options"):
            raise ValidationError("A select field needs at least one option.", "options")


class StaffRoleSchema(Schema):
    userid = fields.String(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES), metadata=described(
        "admin (everything, including roles, erasure and status), manager (reads in scope, approves "
        "handovers), operator (sets up channels, welcome, SOPs, the library, labels, recalls) or sales "
        "(their own customers and groups). See docs/console.md, Roles and data scopes."))
    data_scope = fields.String(validate=validate.OneOf(SCOPES), metadata=described(
        "Whose customers and groups the member sees: their own (self), their departments' and those "
        "below (department), or the whole corp's (corp). Default: admin and operator corp, manager "
        "department, sales self; an admin's is always corp."))
    can_view_mobile = fields.Boolean(load_default=False, metadata=described("Unmasked remark mobiles."))

    @validates_schema
    def _admin_sees_the_corp(self, data: dict, **_: object) -> None:
        if data.get("role") == "admin" and data.get("data_scope", "corp") != "corp":
            raise ValidationError("An admin's data scope is the whole corp (corp).", "data_scope")


class MemberRoleSchema(Schema):
    userid = fields.String()
    name = fields.String()
    departments = fields.List(fields.String(), metadata=described("Department names."))
    leader = fields.Boolean(metadata=described("Leads a department in WeCom (is_leader_in_dept)."))
    role = fields.String()
    data_scope = fields.String(metadata=described("The effective scope."))
    can_view_mobile = fields.Boolean()
    is_default = fields.Boolean(metadata=described(
        "No role assigned: the default from WeCom (a department leader is a manager with scope "
        "department, anyone else sales with scope self)."))


class FollowUpSchema(Schema):
    id = fields.Integer()
    userid = fields.String()
    external_userid = fields.String()
    kind = fields.String(metadata=described("chat | call | visit | note"))
    content = fields.String()
    next_at = UtcDateTime(allow_none=True)
    reminder_status = fields.String(metadata=described("none | pending | sending | sent | failed"))
    reminded_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class FollowUpArgsSchema(Schema):
    userid = fields.String()
    external_userid = fields.String()
    since = UtcDateTime(metadata=described("Created at or after."))


class AuditSchema(Schema):
    id = fields.Integer()
    userid = fields.String()
    action = fields.String(metadata=described("view_customer, view_group, edit_tags, edit_stage, edit_fields, "
                                              "edit_remark, follow_up, send_content, sop_sent, ..."))
    target_type = fields.String()
    target_id = fields.String()
    detail = fields.Dict(allow_none=True)
    ip = fields.String(allow_none=True)
    at = UtcDateTime()


class AuditArgsSchema(SinceUntilMixin, Schema):
    userid = fields.String(validate=validate.Length(max=64), metadata=described(
        "Who acted: a staff userid, `api-token:ID:NAME` or `console-admin:NAME`."))
    action = fields.String(validate=validate.Length(max=48))
    target_type = fields.String(validate=validate.Length(max=16), metadata=described(
        "customer | group | content | sop_task | group_sop | job | ..."))
    target_id = fields.String(validate=validate.Length(max=64))
    since = UtcDateTime(metadata=described("At or after."))
    until = UtcDateTime(metadata=described("At or before (not before `since`)."))
