"""Open API v1: mass messages to customers (群发, issue #14 part 4)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import TEXT_DESCRIPTION, attachments_field, check_text
from scrm.schemas.customer_search import CustomerFilterSchema

RECIPIENT_STATUSES = ("queued", "capped", "refused", "waiting", "sent", "not_friend", "quota_exceeded", "not_sent")
MAX_NAMED = 10_000


class AudienceSchema(Schema):
    """Exactly one of external_userids, segment_id, filters; senders optional."""

    external_userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                   validate=validate.Length(min=1, max=MAX_NAMED), metadata=described(
                                       "Named customers (each through one of their staff members)."))
    segment_id = fields.Integer(validate=validate.Range(1, 2**31 - 1), metadata=described(
        "A saved segment (/api/v1/segments): its filters as they are when the job starts."))
    filters = fields.Nested(CustomerFilterSchema, metadata=described(
        "The customer list's filters (/api/v1/customer-search), kept as given."))
    senders = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=5000),
                          metadata=described("Only through these staff members (empty or absent: any)."))

    @validates_schema
    def one_kind(self, data: dict[str, Any], **_: Any) -> None:
        given = [key for key in ("external_userids", "segment_id", "filters") if key in data]
        if len(given) != 1:
            raise ValidationError("Give exactly one of external_userids, segment_id, filters.", "_schema")

    @post_load
    def any_sender(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if not data.get("senders"):
            data.pop("senders", None)  # empty: any staff member
        return data


class MassMessageInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(allow_none=True, metadata=described(
        TEXT_DESCRIPTION + " `{nickname}` cannot be used: one WeCom task carries one text for all its customers."))
    attachments = attachments_field(load_default=list)
    audience = fields.Nested(AudienceSchema, required=True)
    monthly_cap = fields.Integer(allow_none=True, validate=validate.Range(1, 31), metadata=described(
        "Mass messages a customer may receive from us per corp-local month; customers already at it are "
        "`capped` (not sent, reported). Default: SCRM_CUSTOMER_MONTHLY_CAP (0: the days in the month)."))

    @validates_schema
    def content(self, data: dict[str, Any], **_: Any) -> None:
        check_text(data.get("text"))
        if not data.get("text") and not data.get("attachments"):
            raise ValidationError("A mass message needs text or attachments.", "text")


class MassMessageSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    text = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())
    audience = fields.Dict()
    monthly_cap = fields.Integer()
    status = fields.String(metadata=described("queued, sending, done, failed or cancelled"))
    created_by = fields.String()
    recipients = fields.Integer(metadata=described("Customers picked (including capped)."))
    capped = fields.Integer(metadata=described("Customers over the monthly cap: not sent."))
    error = fields.String(allow_none=True)
    created_at = UtcDateTime()
    built_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    recipients_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "queued, capped, refused (add_msg_template's fail_list), waiting (for the staff member to send), sent, "
        "not_friend, quota_exceeded (WeCom: already received another mass message), not_sent."))
    tasks_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "pending, running, awaiting (the staff member's confirmation), sent, not_sent, failed."))


class MassTaskSchema(Schema):
    id = fields.Integer()
    sender = fields.String()
    sender_name = fields.String(allow_none=True)
    chunk = fields.Integer()
    recipients = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    msgid = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = UtcDateTime(allow_none=True)
    sent_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class MassDetailSchema(MassMessageSchema):
    tasks = fields.List(fields.Nested(MassTaskSchema))


class MassListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(("queued", "sending", "done", "failed", "cancelled")))


class RecipientArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(RECIPIENT_STATUSES))


class RecipientSchema(Schema):
    external_userid = fields.String()
    name = fields.String(allow_none=True)
    sender = fields.String()
    sender_name = fields.String(allow_none=True)
    status = fields.String()
    sent_at = UtcDateTime(allow_none=True)
