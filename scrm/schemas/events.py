"""Open API v1: the callback inbox (every decrypted WeCom callback, as stored)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models import EventStatus
from scrm.schemas.common import SinceUntilMixin, UtcDateTime, described

EVENT_STATUSES = [status.value for status in EventStatus]


class EventSchema(Schema):
    id = fields.Integer()
    corp_id = fields.String()
    received_at = UtcDateTime()
    event = fields.String(allow_none=True, metadata=described("Event, or MsgType for messages."))
    change_type = fields.String(allow_none=True)
    status = fields.String(metadata=described("One of: " + ", ".join(EVENT_STATUSES) + "."))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    processed_at = UtcDateTime(allow_none=True)


class EventDetailSchema(EventSchema):
    payload = fields.String(metadata=described("The decrypted plaintext XML, as received."))


class EventListArgsSchema(SinceUntilMixin, Schema):
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES))
    event = fields.String(validate=validate.Length(max=64),
                          metadata=described("Exact Event (or MsgType), e.g. change_external_contact."))
    change_type = fields.String(validate=validate.Length(max=64),
                                metadata=described("Exact ChangeType, e.g. add_external_contact."))
    since = UtcDateTime(metadata=described("Only events received at or after this time."))
    until = UtcDateTime(metadata=described("Only events received at or before this time (not before `since`)."))
