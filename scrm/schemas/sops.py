"""Open API v1: customer SOPs (客户SOP), per-customer progress, customer dates."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import TEXT_DESCRIPTION, attachments_field, check_text
from scrm.schemas.welcome import _hhmm

DELIVERIES = ("mass_send", "reminder")
DELIVERY_NOTE = ("mass_send: a WeCom 1:1 mass-send task (add_msg_template, chat_type single) the staff member "
                 "confirms in WeCom, its result tracked; reminder: a message/send card to the staff member "
                 "linking to the sidebar (/sidebar/?sop_step=<task id>) with the content to send.")
DATE_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="Lower-case letters, digits and _ (≤ 32).")


class ConditionsSchema(Schema):
    channel_ids = fields.List(fields.Integer(), load_default=list,
                              metadata=described("Added through one of these channels (empty: any)."))
    tag_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                          metadata=described("Carries one of these corp tags on the relation (empty: any)."))
    userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                          metadata=described("Added by one of these staff members (empty: any)."))


class StepInSchema(Schema):
    id = fields.Integer(metadata=described("On edit: the step kept (omit for a new step)."))
    name = fields.String(allow_none=True, validate=validate.Length(max=64))
    anchor = fields.String(load_default="added", validate=validate.OneOf(("added", "date")),
                           metadata=described("added: the add; date: a customer date (`date_key`)."))
    date_key = fields.String(allow_none=True, validate=DATE_KEY,
                             metadata=described("e.g. birthday (PUT /api/v1/customers/<id>/dates/<key>)."))
    yearly = fields.Boolean(load_default=False, metadata=described("date anchor: the next anniversary."))
    delay_minutes = fields.Integer(allow_none=True, validate=validate.Range(0, 366 * 24 * 60),
                                   metadata=described("added anchor: minutes after the add (e.g. 120 = +2 h)."))
    day_offset = fields.Integer(allow_none=True, validate=validate.Range(-366, 366),
                                metadata=described("Days after the anchor's local date (0 = that day)."))
    at_time = fields.String(allow_none=True, validate=_hhmm,
                            metadata=described("Local time HH:MM with day_offset (default 09:00)."))
    text = fields.String(allow_none=True, metadata=described(TEXT_DESCRIPTION))
    attachments = attachments_field(load_default=list)
    delivery = fields.String(required=True, validate=validate.OneOf(DELIVERIES), metadata=described(DELIVERY_NOTE))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        check_text(data.get("text"))
        errors: dict[str, list[str]] = {}
        if not data.get("text") and not data.get("attachments"):
            errors["text"] = ["A step needs text or attachments."]
        relative = data.get("delay_minutes") is not None
        by_day = data.get("day_offset") is not None
        if data.get("anchor", "added") == "added":
            if relative == by_day:
                errors["delay_minutes"] = ["Give either delay_minutes or day_offset (with at_time)."]
            if data.get("date_key"):
                errors["date_key"] = ["Only for the date anchor."]
        else:
            if not data.get("date_key"):
                errors["date_key"] = ["Required for the date anchor."]
            if relative:
                errors["delay_minutes"] = ["The date anchor takes day_offset and at_time."]
        if relative and data.get("at_time"):
            errors["at_time"] = ["Only with day_offset."]
        if errors:
            raise ValidationError(errors)


class SopInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    conditions = fields.Nested(ConditionsSchema, load_default=dict)
    steps = fields.List(fields.Nested(StepInSchema), required=True, validate=validate.Length(min=1, max=50))
    paused = fields.Boolean(load_default=False, metadata=described("Create paused."))


class SopPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    conditions = fields.Nested(ConditionsSchema)
    steps = fields.List(fields.Nested(StepInSchema), validate=validate.Length(min=1, max=50), metadata=described(
        "The whole new step list: steps with an id are kept (changes apply to their tasks not yet run), "
        "steps without are added, steps left out are removed (their pending tasks cancelled)."))


class StepSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String(allow_none=True)
    anchor = fields.String()
    date_key = fields.String(allow_none=True)
    yearly = fields.Boolean()
    delay_minutes = fields.Integer(allow_none=True)
    day_offset = fields.Integer(allow_none=True)
    at_time = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())
    delivery = fields.String()


class SopSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String(metadata=described("active | paused"))
    conditions = fields.Dict()
    steps = fields.List(fields.Nested(StepSchema))
    enrolled = fields.Integer(metadata=described("Relations enrolled so far."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class TaskProgressSchema(Schema):
    task_id = fields.Integer()
    step_id = fields.Integer()
    position = fields.Integer()
    name = fields.String(allow_none=True)
    delivery = fields.String()
    due_at = UtcDateTime()
    status = fields.String(metadata=described(
        "pending | running | awaiting (mass-send task waiting for the staff member) | sent | failed | skipped "
        "| cancelled"))
    sent_at = UtcDateTime(allow_none=True)
    result = fields.String(allow_none=True, metadata=described(
        "WeCom's send result for mass sends: sent, not_friend, quota_exceeded, not_sent_yet, not_sent, fail_list."))
    error = fields.String(allow_none=True)


class EnrollmentProgressSchema(Schema):
    sop_id = fields.Integer()
    sop_name = fields.String()
    sop_status = fields.String()
    userid = fields.String()
    status = fields.String(metadata=described("active | stopped | completed"))
    stop_reason = fields.String(allow_none=True, metadata=described("relation_lost | no_longer_matches | sop_deleted"))
    added_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)
    done = fields.Integer(metadata=described("Steps sent."))
    total = fields.Integer()
    steps = fields.List(fields.Nested(TaskProgressSchema))


class CustomerDateInSchema(Schema):
    value = fields.Date(required=True, allow_none=True, metadata=described("YYYY-MM-DD; null clears it."))


class CustomerDateSchema(Schema):
    external_userid = fields.String()
    key = fields.String()
    value = fields.Date(allow_none=True)


TASK_STATUSES = ("pending", "running", "awaiting", "sent", "failed", "skipped", "cancelled")


class SopTaskArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    userid = fields.String(validate=validate.Length(min=1, max=64), metadata=described("Only this staff member's."))
    since = UtcDateTime(metadata=described("Due at or after (default: 1 day ago)."))
    until = UtcDateTime(metadata=described("Due before (default: since + 31 days)."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("Must be after since.", "until")


class SopTaskSchema(Schema):
    id = fields.Integer()
    step_id = fields.Integer()
    position = fields.Integer(allow_none=True)
    step_name = fields.String(allow_none=True)
    userid = fields.String()
    staff_name = fields.String(allow_none=True)
    external_userid = fields.String()
    delivery = fields.String()
    due_at = UtcDateTime()
    status = fields.String(metadata=described(
        "pending | running | awaiting (mass-send task waiting for the staff member) | sent | failed | skipped "
        "| cancelled"))
    result = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    sent_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class SopResultsSchema(Schema):
    sop_id = fields.Integer()
    customers = fields.Integer(metadata=described("Customers with at least one task."))
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_result = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "WeCom's send results of mass sends: sent, not_friend, quota_exceeded, not_sent_yet, not_sent, fail_list."))
    steps = fields.List(fields.Dict(), metadata=described("Per step: step_id, position, name, by_status."))
    reasons = fields.List(fields.Dict(), metadata=described(
        "The commonest reasons of failed and skipped tasks: status, reason, count (at most 20)."))
