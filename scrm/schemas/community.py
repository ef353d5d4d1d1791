"""Open API v1: group welcome templates, group codes (群活码) and group labels."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.content_limits import byte_len
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import AttachmentSchema

GROUP_WELCOME_TEXT_MAX_BYTES = 3000  # docs/wecom/api.md#group-welcome-templates
DB_INT_MAX = 2**31 - 1


def _text_bytes(value: str | None) -> None:
    if value is not None and byte_len(value) > GROUP_WELCOME_TEXT_MAX_BYTES:
        raise ValidationError(f"At most {GROUP_WELCOME_TEXT_MAX_BYTES} bytes in UTF-8 (got {byte_len(value)}).")


class GroupWelcomeTemplateInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata=described("Ours only (WeCom keeps no name)."))
    text = fields.String(allow_none=True, validate=_text_bytes, metadata=described(
        f"At most {GROUP_WELCOME_TEXT_MAX_BYTES} bytes of UTF-8; WeCom replaces `%NICKNAME%` with the new "
        "member's name."))
    attachment = fields.Nested(AttachmentSchema, allow_none=True, metadata=described(
        "At most one: image, link, miniprogram, file or video, as in the content library (media by "
        "media asset id, POST /api/v1/media)."))
    notify = fields.Boolean(load_default=True, metadata=described("WeCom tells the members to apply it."))

    @validates_schema
    def check(self, data: dict[str, Any], partial: bool | tuple = False, **_: Any) -> None:
        if not partial and not data.get("text") and not data.get("attachment"):
            raise ValidationError("A template needs text or an attachment.", "text")


class GroupWelcomeTemplatePatchSchema(GroupWelcomeTemplateInSchema):
    """Only the fields given change (loaded with partial=True)."""


class GroupWelcomeTemplateSchema(Schema):
    id = fields.Integer()
    template_id = fields.String(allow_none=True, metadata=described("WeCom's template_id."))
    name = fields.String()
    text = fields.String(allow_none=True)
    attachment = fields.Dict(allow_none=True)
    notify = fields.Boolean()
    status = fields.String(metadata=described("active | deleted (deleted here, or gone from WeCom)."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class GroupWelcomeListArgsSchema(Schema):
    include_deleted = fields.Boolean(load_default=False)


class RefreshResultSchema(Schema):
    checked = fields.Integer(metadata=described("Active templates read from WeCom."))
    deleted = fields.Integer(metadata=described("Of those, gone from WeCom (now deleted here)."))


class GroupCodeInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=described("Ours only."))
    chat_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                           validate=validate.Length(min=1, max=5),
                           metadata=described("1–5 of the corp's active groups, in the order WeCom fills them."))
    remark = fields.String(allow_none=True, validate=validate.Length(max=30))
    scene = fields.Integer(load_default=2, validate=validate.OneOf([1, 2]),
                           metadata=described("2: a QR code (default); 1: a mini-program plugin."))
    state = fields.String(validate=validate.Length(min=1, max=30), metadata=described(
        "Attribution parameter, unique per corp (default: generated). Members who join through the code "
        "carry it."))
    auto_create_room = fields.Boolean(load_default=True,
                                      metadata=described("When all groups are full, WeCom creates a new one."))
    room_base_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=40),
                                   metadata=described("Name of auto-created rooms (+ a number); required "
                                                      "with auto_create_room."))
    room_base_id = fields.Integer(allow_none=True, validate=validate.Range(1, DB_INT_MAX),
                                  metadata=described("Number of the next auto-created room."))


class GroupCodePatchSchema(Schema):
    """Only the fields given change; `state` and `scene` are fixed once created."""
    name = fields.String(validate=validate.Length(min=1, max=64))
    chat_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                           validate=validate.Length(min=1, max=5))
    remark = fields.String(allow_none=True, validate=validate.Length(max=30))
    auto_create_room = fields.Boolean()
    room_base_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    room_base_id = fields.Integer(allow_none=True, validate=validate.Range(1, DB_INT_MAX))


class GroupCodeChatSchema(Schema):
    chat_id = fields.String()
    source = fields.String(metadata=described("operator | auto_created (WeCom opened it when the others were full)."))


class GroupCodeSchema(Schema):
    id = fields.Integer()
    config_id = fields.String(allow_none=True, metadata=described("WeCom's join way id."))
    name = fields.String()
    remark = fields.String(allow_none=True)
    scene = fields.Integer()
    state = fields.String()
    auto_create_room = fields.Boolean()
    room_base_name = fields.String(allow_none=True)
    room_base_id = fields.Integer(allow_none=True)
    qr_code = fields.String(allow_none=True, metadata=described("The QR code image URL (scene 2)."))
    status = fields.String(metadata=described("active | deleted"))
    chats = fields.List(fields.Nested(GroupCodeChatSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class GroupCodeListArgsSchema(Schema):
    include_deleted = fields.Boolean(load_default=False)


class GroupCodeStatsArgsSchema(Schema):
    since = fields.Date(metadata=described("First local day (YYYY-MM-DD, corp time zone); default: 29 days "
                                           "before `until`."))
    until = fields.Date(metadata=described("Last local day, inclusive; default: today."))


class DayCountSchema(Schema):
    date = fields.Date()
    joins = fields.Integer()
    leaves = fields.Integer()


class GroupCodeStatsSchema(Schema):
    group_code_id = fields.Integer()
    state = fields.String()
    since = fields.Date()
    until = fields.Date()
    timezone = fields.String()
    joins = fields.Integer(metadata=described("Members who joined through the code in the range."))
    leaves = fields.Integer(metadata=described("Of the members who joined through the code, those who left "
                                               "in the range."))
    current_members = fields.Integer(metadata=described("Members in a group now who joined through the code."))
    days = fields.List(fields.Nested(DayCountSchema))


class GroupLabelInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata=described("Unique per corp."))
    category = fields.String(allow_none=True, validate=validate.Length(max=32))
    color = fields.String(allow_none=True, validate=validate.Regexp(r"^#[0-9A-Fa-f]{6}$"),
                          metadata=described("#RRGGBB"))


class GroupLabelPatchSchema(GroupLabelInSchema):
    """Only the fields given change (loaded with partial=True)."""


class GroupLabelSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String(allow_none=True)
    color = fields.String(allow_none=True)
    group_count = fields.Integer(metadata=described("Groups with this label."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class GroupLabelRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String(allow_none=True)
    color = fields.String(allow_none=True)


class GroupLabelListArgsSchema(Schema):
    category = fields.String(validate=validate.Length(min=1, max=32))



class LabelGroupsInSchema(Schema):
    add = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                      validate=validate.Length(max=1000), metadata=described("chat_ids to label (≤ 1000)."))
    remove = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                         validate=validate.Length(max=1000), metadata=described("chat_ids to unlabel (≤ 1000)."))


class LabelGroupsResultSchema(Schema):
    added = fields.Integer()
    removed = fields.Integer()
    groups = fields.Integer(metadata=described("Groups with the label now."))


class GroupLabelsInSchema(Schema):
    label_ids = fields.List(fields.Integer(validate=validate.Range(1, DB_INT_MAX)), required=True,
                            validate=validate.Length(max=100), metadata=described("The group's labels, all of them."))
