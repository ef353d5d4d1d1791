"""Open API v1: channel codes (渠道活码, WeCom 「联系我」)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.schemas.common import UtcDateTime, described

STATE_NOTE = ("At most 30 characters; identifies the channel in the add callback (unique among live "
              "channels; generated when omitted).")


class ChannelPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    style = fields.Integer(allow_none=True, validate=validate.Range(1, 10),
                           metadata=described("Button style (scene 1), WeCom's `style`."))
    remark = fields.String(allow_none=True, validate=validate.Length(max=30))
    skip_verify = fields.Boolean(metadata=described("Add without the staff member's confirmation."))
    state = fields.String(validate=[validate.Length(min=1, max=30),
                                    validate.Regexp(r"^[A-Za-z0-9_\-.:]+$",
                                                    error="Letters, digits and _ - . : only.")],
                          metadata=described(STATE_NOTE))
    userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                          validate=validate.Length(min=1, max=100),
                          metadata=described("Staff the code routes to (type 1: exactly one)."))
    tag_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=100),
                          metadata=described("Corp tags applied to each customer added through the code."))
    welcome_template_id = fields.Integer(allow_none=True,
                                         metadata=described("The welcome template (wins over staff and default)."))


class ChannelCreateSchema(ChannelPatchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.Integer(required=True, validate=validate.OneOf((1, 2)),
                          metadata=described("1 single staff member, 2 several."))
    scene = fields.Integer(required=True, validate=validate.OneOf((1, 2)),
                           metadata=described("1 mini-program button, 2 QR code."))
    userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                          validate=validate.Length(min=1, max=100))


class ChannelSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    config_id = fields.String(allow_none=True)
    qr_code = fields.String(allow_none=True, metadata=described("QR image URL (scene 2)."))
    type = fields.Integer()
    scene = fields.Integer()
    style = fields.Integer(allow_none=True)
    remark = fields.String(allow_none=True)
    skip_verify = fields.Boolean()
    state = fields.String()
    userids = fields.List(fields.String())
    tag_ids = fields.List(fields.String())
    welcome_template_id = fields.Integer(allow_none=True)
    status = fields.String(metadata=described("active | deleted"))
    adds = fields.Integer(metadata=described("Customers attributed to the channel so far."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    deleted_at = UtcDateTime(allow_none=True)


class ChannelListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(("active", "deleted")))
