"""Open API v1: recall playbooks, recalls and a playbook's figures (issue #13 part 4)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import TEXT_DESCRIPTION, attachments_field, check_text
from scrm.schemas.group_stats import DayRangeArgs

TRIGGERS = ("cooling", "dormant", "lost", "deleted_by_customer")
ACTIONS = ("mass_send", "reminder", "contact")
TRIGGER_NOTE = ("The relation entered this churn level in the nightly scoring: cooling 降温, dormant 沉睡, lost "
                "流失 by silence, or deleted_by_customer (the customer deleted the staff member).")
ACTION_NOTE = ("mass_send: a WeCom 1:1 mass-send task (add_msg_template, chat_type single) the staff member confirms, "
               "its result tracked; reminder: a message/send card to the staff member opening the sidebar customer "
               "view with the script ready to send (/sidebar/?customer=<id>&recall=<recall id>); contact (only, and "
               "required, for deleted_by_customer): a card with a task to reach the customer another way (the "
               "sidebar shows the relation's remark mobiles, masked by role) and the suggested script.")
STATUSES = ("pending", "running", "awaiting", "sent", "failed", "skipped", "cancelled")


def check_pair(trigger: str | None, action: str | None) -> None:
    if trigger is None or action is None:
        return
    if trigger == "deleted_by_customer" and action != "contact":
        raise ValidationError({"action": ["A customer who deleted the staff member can only be reached another way: "
                                          "use contact."]})
    if trigger != "deleted_by_customer" and action == "contact":
        raise ValidationError({"action": ["contact is for the deleted_by_customer trigger; use mass_send or "
                                          "reminder."]})


class SegmentSchema(Schema):
    tag_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                          validate=validate.Length(max=100),
                          metadata=described("The relation carries one of these corp tags (empty: any)."))
    stage_ids = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)), load_default=list,
                            validate=validate.Length(max=100),
                            metadata=described("The customer is in one of these funnel stages (empty: any)."))


class _PlaybookFields(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    trigger = fields.String(validate=validate.OneOf(TRIGGERS), metadata=described(TRIGGER_NOTE))
    segment = fields.Nested(SegmentSchema, metadata=described("Both lists must match when given."))
    action = fields.String(validate=validate.OneOf(ACTIONS), metadata=described(ACTION_NOTE))
    text = fields.String(allow_none=True, metadata=described(
        "The recall content (mass_send) or suggested script (reminder, contact). " + TEXT_DESCRIPTION))
    attachments = attachments_field()  # mass_send and reminder only
    priority = fields.Integer(validate=validate.Range(0, 10000), metadata=described(
        "When several playbooks match a relation, the lowest priority (then the oldest) makes the recall."))
    cooldown_days = fields.Integer(allow_none=True, validate=validate.Range(1, 3650), metadata=described(
        "Nobody is recalled again (by any playbook) within this many days of a recall; "
        "null: SCRM_RECALL_COOLDOWN_DAYS (30)."))

    def _check_content(self, data: dict[str, Any], *, partial: bool) -> None:
        check_text(data.get("text"))
        errors: dict[str, list[str]] = {}
        if not partial and not data.get("text") and not data.get("attachments"):
            errors["text"] = ["A playbook needs text or attachments."]
        if data.get("action") == "contact" and data.get("attachments"):
            errors["attachments"] = ["A contact task has no attachments (only a script)."]
        if errors:
            raise ValidationError(errors)


class PlaybookInSchema(_PlaybookFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    trigger = fields.String(required=True, validate=validate.OneOf(TRIGGERS), metadata=described(TRIGGER_NOTE))
    segment = fields.Nested(SegmentSchema, load_default=dict)
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS), metadata=described(ACTION_NOTE))
    attachments = attachments_field(load_default=list)
    priority = fields.Integer(load_default=100, validate=validate.Range(0, 10000))
    paused = fields.Boolean(load_default=False, metadata=described("Create paused."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        self._check_content(data, partial=False)
        check_pair(data.get("trigger"), data.get("action"))


class PlaybookPatchSchema(_PlaybookFields):
    """Any field; trigger and action are checked together with the stored values (by the API)."""

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        self._check_content(data, partial=True)
        check_pair(data.get("trigger"), data.get("action"))


class PlaybookSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    trigger = fields.String()
    segment = fields.Dict()
    action = fields.String()
    text = fields.String(allow_none=True)
    attachments = fields.List(fields.Dict())
    priority = fields.Integer()
    cooldown_days = fields.Integer(allow_none=True)
    status = fields.String(metadata=described("active | paused"))
    recalls = fields.Integer(metadata=described("Recalls made so far."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class RecallListArgsSchema(Schema):
    playbook_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    status = fields.String(validate=validate.OneOf(STATUSES))
    outcome = fields.String(validate=validate.OneOf(("won", "lost")))
    trigger = fields.String(validate=validate.OneOf(TRIGGERS))
    action = fields.String(validate=validate.OneOf(ACTIONS))
    userid = fields.String(validate=validate.Length(min=1, max=64))
    external_userid = fields.String(validate=validate.Length(min=1, max=64))
    created_from = UtcDateTime(metadata=described("Created at or after."))
    created_to = UtcDateTime(metadata=described("Created before."))


class RecallSchema(Schema):
    id = fields.Integer()
    playbook_id = fields.Integer()
    userid = fields.String()
    external_userid = fields.String()
    trigger = fields.String()
    action = fields.String()
    entered_at = UtcDateTime(metadata=described("When the relation entered the trigger level."))
    due_at = UtcDateTime()
    status = fields.String(metadata=described(
        "pending | running | awaiting (mass-send task waiting for the staff member) | sent | failed | skipped "
        "(stale, or the relation changed before sending) | cancelled (playbook deleted)"))
    result = fields.String(allow_none=True, metadata=described(
        "WeCom's send result for mass sends: sent, not_friend, quota_exceeded, not_sent_yet, not_sent, fail_list."))
    error = fields.String(allow_none=True)
    sent_at = UtcDateTime(allow_none=True)
    window_ends_at = UtcDateTime(allow_none=True, metadata=described("sent_at + SCRM_RECALL_WINDOW_DAYS (7)."))
    sent_from_sidebar_at = UtcDateTime(allow_none=True, metadata=described(
        "reminder: the script sent from the sidebar; contact: the staff member marked the customer contacted."))
    outcome = fields.String(allow_none=True, metadata=described(
        "won (re-engaged within the window) | lost (the window passed) | null (not decided, or never sent)"))
    outcome_by = fields.String(allow_none=True, metadata=described("reply | follow_up | re_add"))
    outcome_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class StatsArgsSchema(DayRangeArgs):
    from_ = fields.Date(data_key="from", metadata=described(
        "First day (inclusive) of the months, corp-local YYYY-MM-DD; default: 12 months up to `to` (today)."))


_FIGURES = {
    "sent": fields.Integer(metadata=described("Recalls that went out (mass-send task created or sent, card sent).")),
    "won": fields.Integer(metadata=described("Of those, re-engaged within the window.")),
    "lost": fields.Integer(metadata=described("Of those, not re-engaged once the window passed.")),
    "open": fields.Integer(metadata=described("Of those, window still open.")),
    "recall_rate": fields.Float(allow_none=True, metadata=described("won / sent; null when nothing was sent.")),
}
MonthFiguresSchema = Schema.from_dict({"month": fields.String(metadata=described("YYYY-MM (corp-local, by "
                                                                                 "sent_at)")), **_FIGURES},
                                      name="RecallMonthFigures")
PlaybookStatsSchema = Schema.from_dict({
    "playbook_id": fields.Integer(), "from_": fields.Date(data_key="from"), "to": fields.Date(), **_FIGURES,
    "by_month": fields.List(fields.Nested(MonthFiguresSchema))}, name="RecallPlaybookStats")
