"""Open API v1: group SOPs (群SOP), their executions (calendar and results)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.content_limits import NICKNAME
from scrm.models import ExecutionStatus, ScheduleKind
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import TEXT_DESCRIPTION, attachments_field, check_text
from scrm.schemas.welcome import _hhmm

DELIVERIES = ("mass_send", "reminder")
DELIVERY_NOTE = ("mass_send: a WeCom group mass-send task (add_msg_template, chat_type group, sender = the group "
                 "owner; one task per owner covering their due groups) the owner confirms in WeCom, per-group "
                 "results tracked; reminder: a message/send card to the owner; the group's sidebar view offers the "
                 "content, sent in one tap.")
GROUP_TEXT = (TEXT_DESCRIPTION + " In group SOPs also `{group_name}`; `{nickname}` (new-member series only) is the "
              "new members' names, at most 3 then 等N人.")
ROW_ID = fields.Integer(validate=validate.Range(1, 2**31 - 1))
USERID = fields.String(validate=validate.Length(min=1, max=64))


def _date(value: str) -> None:
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValidationError("Expected YYYY-MM-DD.") from None


def _local_datetime(value: str) -> None:
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ValidationError("Expected YYYY-MM-DDTHH:MM (corp-local time).") from None


class TargetsSchema(Schema):
    owners = fields.List(USERID, load_default=list, validate=validate.Length(max=500),
                         metadata=described("Groups owned by one of these staff members."))
    name_contains = fields.String(allow_none=True, validate=validate.Length(max=64),
                                  metadata=described("Groups whose name contains this text."))
    label_ids = fields.List(ROW_ID, load_default=list, validate=validate.Length(max=200),
                            metadata=described("Carrying one of these group labels."))
    group_code_ids = fields.List(ROW_ID, load_default=list,
                                 validate=validate.Length(max=200),
                                 metadata=described("Behind one of these group codes (auto-created rooms included)."))
    chat_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                           validate=validate.Length(max=2000),
                           metadata=described("These groups, whatever the filters."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if not any(data.get(k) for k in ("owners", "name_contains", "label_ids", "group_code_ids", "chat_ids")):
            raise ValidationError("Choose the groups: owners, name_contains, label_ids, group_code_ids or chat_ids.",
                                  "owners")


class ScheduleSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ScheduleKind]), metadata=described(
        "once | daily | weekly | monthly | group_created (steps after the group was created) | member_joined "
        "(the new-member series: steps after a customer joined; a member who left before a step is skipped)."))
    at = fields.String(validate=_local_datetime, metadata=described("once: YYYY-MM-DDTHH:MM, corp-local."))
    at_time = fields.String(validate=_hhmm, metadata=described("daily / weekly / monthly: HH:MM (default 09:00)."))
    weekdays = fields.List(fields.Integer(validate=validate.Range(1, 7)), validate=validate.Length(min=1, max=7),
                           metadata=described("weekly: 1 = Monday … 7 = Sunday."))
    month_days = fields.List(fields.Integer(validate=validate.Range(1, 31)), validate=validate.Length(min=1, max=31),
                             metadata=described("monthly: days of the month; past the month's end = its last day."))
    start_date = fields.String(validate=_date, metadata=described("Recurring: first local day (optional)."))
    end_date = fields.String(validate=_date, metadata=described("Recurring: last local day (optional)."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        errors: dict[str, list[str]] = {}
        if kind == "once" and not data.get("at"):
            errors["at"] = ["Required for a one-off plan."]
        if kind != "once" and data.get("at"):
            errors["at"] = ["Only for kind once."]
        if kind == "weekly" and not data.get("weekdays"):
            errors["weekdays"] = ["Required for a weekly plan."]
        if kind == "monthly" and not data.get("month_days"):
            errors["month_days"] = ["Required for a monthly plan."]
        for key, allowed in (("weekdays", "weekly"), ("month_days", "monthly")):
            if data.get(key) and kind != allowed:
                errors[key] = [f"Only for kind {allowed}."]
        relative = kind in ("group_created", "member_joined")
        for key in ("at_time", "start_date", "end_date"):
            if data.get(key) and (relative or kind == "once"):
                errors[key] = ["Only for daily, weekly and monthly plans."]
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            errors["end_date"] = ["Must not be before start_date."]
        if errors:
            raise ValidationError(errors)


class GroupStepInSchema(Schema):
    id = fields.Integer(metadata=described("On edit: the step kept (omit for a new step)."))
    name = fields.String(allow_none=True, validate=validate.Length(max=64))
    delay_minutes = fields.Integer(allow_none=True, validate=validate.Range(0, 366 * 24 * 60), metadata=described(
        "Relative plans: minutes after the event (0 = at once)."))
    day_offset = fields.Integer(allow_none=True, validate=validate.Range(0, 366),
                                metadata=described("Relative plans: days after the event's local date, at at_time."))
    at_time = fields.String(allow_none=True, validate=_hhmm, metadata=described("With day_offset (default 09:00)."))
    text = fields.String(allow_none=True, metadata=described(GROUP_TEXT))
    attachments = attachments_field(load_default=list)

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        check_text(data.get("text"), group=True)
        errors: dict[str, list[str]] = {}
        if not data.get("text") and not data.get("attachments"):
            errors["text"] = ["A step needs text or attachments."]
        if data.get("delay_minutes") is not None and data.get("day_offset") is not None:
            errors["delay_minutes"] = ["Give delay_minutes or day_offset, not both."]
        if data.get("at_time") and data.get("day_offset") is None:
            errors["at_time"] = ["Only with day_offset."]
        if errors:
            raise ValidationError(errors)


def check_plan(data: dict[str, Any], schedule: dict | None, steps: list | None) -> None:
    """Steps against the schedule kind: fixed plans have one step without a time of its own;
    relative plans give each step its time; {nickname} only in the new-member series."""
    if not schedule or steps is None:
        return
    kind = schedule.get("kind")
    errors: dict[str, list[str]] = {}
    relative = kind in ("group_created", "member_joined")
    if not relative and len(steps) != 1:
        errors["steps"] = ["A once / daily / weekly / monthly plan has exactly one step (its time is the schedule's)."]
    for index, step in enumerate(steps):
        timed = step.get("delay_minutes") is not None or step.get("day_offset") is not None
        if relative and not timed:
            errors[f"steps.{index}.delay_minutes"] = ["Give delay_minutes or day_offset (with at_time)."]
        if not relative and timed:
            errors[f"steps.{index}.delay_minutes"] = ["Only in group_created / member_joined plans."]
        if kind != "member_joined" and NICKNAME in (step.get("text") or ""):
            errors[f"steps.{index}.text"] = ["{nickname} is only for the new-member series (member_joined)."]
    if errors:
        raise ValidationError(errors)


class GroupSopInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    targets = fields.Nested(TargetsSchema, required=True)
    schedule = fields.Nested(ScheduleSchema, required=True)
    delivery = fields.String(required=True, validate=validate.OneOf(DELIVERIES), metadata=described(DELIVERY_NOTE))
    steps = fields.List(fields.Nested(GroupStepInSchema), required=True, validate=validate.Length(min=1, max=30))
    paused = fields.Boolean(load_default=False, metadata=described("Create paused."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        check_plan(data, data.get("schedule"), data.get("steps"))


class GroupSopPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    targets = fields.Nested(TargetsSchema)
    schedule = fields.Nested(ScheduleSchema)
    delivery = fields.String(validate=validate.OneOf(DELIVERIES))
    steps = fields.List(fields.Nested(GroupStepInSchema), validate=validate.Length(min=1, max=30), metadata=described(
        "The whole new step list: steps with an id are kept, steps without are added, steps left out are removed "
        "(their pending executions cancelled). Give schedule and steps together when changing the kind."))


class GroupStepSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String(allow_none=True)
    delay_minutes = fields.Integer(allow_none=True)
    day_offset = fields.Integer(allow_none=True)
    at_time = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())


class GroupSopSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String(metadata=described("active | paused"))
    targets = fields.Dict()
    schedule = fields.Dict()
    schedule_text = fields.String(metadata=described("The schedule in words (Chinese)."))
    delivery = fields.String()
    steps = fields.List(fields.Nested(GroupStepSchema))
    target_groups = fields.Integer(metadata=described("Groups the targets match now."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


STATUS_NOTE = ("pending | running | awaiting (waiting for the owner: mass send to confirm, or reminder to send "
               "from the sidebar) | sent | failed | skipped | cancelled")
RESULT_NOTE = ("sent | not_sent_yet | not_sent (never confirmed) | already_received (WeCom: the group already "
               "received its mass sends) | not_owner (dismissed, or the sender no longer owns it) | owner_left | "
               "dismissed | monthly_cap (would exceed the per-group monthly cap: not sent) | member_left | "
               "no_longer_target | stale | reminded | fail_list | error | cancelled")


class ExecutionSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    plan_name = fields.String(allow_none=True)
    step_id = fields.Integer()
    step_name = fields.String(allow_none=True)
    chat_id = fields.String()
    group_name = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True, metadata=described("The new member (member_joined plans)."))
    owner = fields.String(allow_none=True)
    delivery = fields.String()
    due_at = UtcDateTime()
    status = fields.String(metadata=described(STATUS_NOTE))
    result = fields.String(allow_none=True, metadata=described(RESULT_NOTE))
    error = fields.String(allow_none=True)
    msgid = fields.String(allow_none=True)
    sent_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class ExecutionArgsSchema(Schema):
    chat_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf([s.value for s in ExecutionStatus]))
    since = UtcDateTime(metadata=described("Due at or after (default: 1 day ago)."))
    until = UtcDateTime(metadata=described("Due before (default: since + 15 days)."))


class PlanResultsSchema(Schema):
    plan_id = fields.Integer()
    groups = fields.Integer(metadata=described("Groups with at least one execution."))
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_result = fields.Dict(keys=fields.String(), values=fields.Integer())
    steps = fields.List(fields.Dict())
    monthly_cap = fields.Integer(metadata=described(
        "WeCom's per-group mass sends this month (SCRM_GROUP_MONTHLY_CAP)."))
