"""Open API v1: what operators set up for the sidebar (funnel stages, custom fields, staff
roles) and what it records (follow-ups, the audit log)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import SinceUntilMixin, UtcDateTime, described


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
    role = fields.String(required=True, validate=validate.OneOf(("sales", "leader", "admin")))
    data_scope = fields.String(required=True, validate=validate.OneOf(("self", "department", "corp")),
                               metadata=described("Whose customers and groups the sidebar shows: the staff "
                                                  "member's own, their departments', or the whole corp's."))
    can_view_mobile = fields.Boolean(load_default=False, metadata=described("Unmasked remark mobiles."))


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
