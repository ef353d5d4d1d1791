"""Open API v1: welcome templates, media assets and welcome outcomes."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.models import WelcomeStatus
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import TEXT_DESCRIPTION, attachments_field, check_text
from scrm.timezone import parse_hhmm


def _hhmm(value: str) -> None:
    if parse_hhmm(value) is None:
        raise ValidationError("Expected HH:MM (00:00–23:59).")


class VariantSchema(Schema):
    name = fields.String(load_default="variant", validate=validate.Length(max=32))
    start = fields.String(required=True, validate=_hhmm, metadata=described("Local time HH:MM, inclusive."))
    end = fields.String(required=True, validate=_hhmm,
                        metadata=described("Local time HH:MM, exclusive; before `start` = past midnight."))
    weekdays = fields.List(fields.Integer(validate=validate.Range(1, 7)), allow_none=True,
                           metadata=described("1 = Monday … 7 = Sunday; empty or null: every day."))
    text = fields.String(allow_none=True, metadata=described(TEXT_DESCRIPTION))
    attachments = attachments_field(load_default=list)

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        check_text(data.get("text"))
        if data.get("start") == data.get("end") and data.get("start"):
            raise ValidationError("start and end must differ.", "end")
        if not data.get("text") and not data.get("attachments"):
            raise ValidationError("A variant needs text or attachments.", "text")


class WelcomeTemplateInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(allow_none=True, metadata=described(TEXT_DESCRIPTION))
    attachments = attachments_field()
    variants = fields.List(fields.Nested(VariantSchema), validate=validate.Length(max=10),
                           metadata=described("Time-of-day alternatives in corp-local time (SCRM_TIMEZONE); "
                                              "the first whose window holds the time of the add wins."))
    userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=1000),
                          metadata=described("Staff whose own template this is (used when the add's channel "
                                             "has none). A staff member has at most one."))
    is_default = fields.Boolean(metadata=described("The corp default (one per corp: setting it moves it)."))
    nickname_fallback = fields.String(validate=validate.Length(max=32), metadata=described(
        "Rendered for `{nickname}` when the customer's name is not known in time (default: empty)."))

    @validates_schema
    def check(self, data: dict[str, Any], partial: bool | tuple = False, **_: Any) -> None:
        check_text(data.get("text"))
        if not partial and not data.get("text") and not data.get("attachments"):
            raise ValidationError("A template needs text or attachments.", "text")


class WelcomeTemplatePatchSchema(WelcomeTemplateInSchema):
    """Only the fields given change (loaded with partial=True)."""


class WelcomeTemplateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    text = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())
    variants = fields.List(fields.Dict())
    userids = fields.List(fields.String())
    is_default = fields.Boolean()
    nickname_fallback = fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class MediaUploadFormSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("image", "video", "file")),
                         metadata=described("WeCom media type: image (≤ 10 MB), video (≤ 10 MB), file (≤ 20 MB)."))


class MediaUploadFilesSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class MediaSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String(allow_none=True)
    size = fields.Integer()
    sha256 = fields.String()
    status = fields.String(metadata=described("ready: a valid WeCom media_id; pending: not accepted yet "
                                              "(retried by the renewal sweep)."))
    expires_at = UtcDateTime(allow_none=True, metadata=described("When the current media_id expires; "
                                                                 "renewed 12 h before."))
    uploads = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = UtcDateTime()


WELCOME_STATUSES = [status.value for status in WelcomeStatus]
OUTCOME_NOTE = ("sent; too_late (WeCom's 41050, or the 20 s window passed before we could try); "
                "already_chatting (41051: the customer was already talking with the staff member); "
                "failed (any other error; see errcode and error); sending / retrying while in flight.")


class WelcomeOutcomeSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer(metadata=described("The inbox row of the add (GET /api/v1/events/{event_id})."))
    external_userid = fields.String(metadata=described("The customer added."))
    userid = fields.String(metadata=described("The staff member the customer added."))
    status = fields.String(metadata=described(OUTCOME_NOTE))
    attempts = fields.Integer()
    errcode = fields.Integer(allow_none=True, metadata=described("WeCom's errcode when it refused."))
    error = fields.String(allow_none=True)
    received_at = UtcDateTime(metadata=described("When the add's callback arrived."))
    answered_at = UtcDateTime(allow_none=True, metadata=described("When WeCom gave its final answer."))
    latency_ms = fields.Integer(allow_none=True, metadata=described("Callback receipt → WeCom's answer."))
    template_id = fields.Integer(allow_none=True, metadata=described("The template sent (null: the built-in text)."))
    channel_id = fields.Integer(allow_none=True, metadata=described("The channel code the customer came through."))


class WelcomeOutcomeArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(WELCOME_STATUSES))
    since = UtcDateTime(metadata=described("Only adds received at or after this time."))
    until = UtcDateTime(metadata=described("Only adds received before this time."))
    userid = fields.String(validate=validate.Length(min=1, max=64), metadata=described("Only this staff member's."))
    external_userid = fields.String(validate=validate.Length(min=1, max=64),
                                    metadata=described("Only this customer's."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("Must be after since.", "until")
