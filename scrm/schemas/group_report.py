"""Open API v1: the groups report (GET /api/v1/reports/groups)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models.group_report import GROUP_REPORT_SERIES, GROUP_SOP_FIGURES
from scrm.models.group_stats import GROUP_FLOWS, OWNER_FIGURES
from scrm.schemas.common import described
from scrm.schemas.reports import EXPORT_FORMAT, ReportFilterArgs

_DESCRIPTIONS = {
    "groups": "Groups with members at the end of the last day.",
    "members": "Members of those groups at the end of the last day.",
    "customers": "Of them, customers (external contacts).", "staff": "Of them, staff members.",
    "members_start": "Members at the end of the day before the range.",
    "growth": "members - members_start.",
    "joins": "Members who joined.", "joins_invite": "Joined by direct invitation.",
    "joins_link": "Joined through an invitation link.", "joins_qrcode": "Joined by scanning the group QR code.",
    "joins_group_code": "Joined through one of our group codes (活码).",
    "leaves": "Members who left.", "leaves_self": "Left by themselves.",
    "leaves_removed": "Removed by the owner or an admin.",
    "new_chat_cnt": "WeCom: groups created.", "chat_total": "WeCom: groups on the last day with figures.",
    "chat_has_msg": "WeCom: groups with messages, summed over the days.", "new_member_cnt": "WeCom: new members.",
    "member_total": "WeCom: members on the last day with figures.",
    "member_has_msg": "WeCom: members who spoke, summed over the days.", "msg_total": "WeCom: messages.",
    "executions": "SOP executions due in the range (cancelled ones not counted).",
    "sent": "Sent by the owner.", "waiting": "Still waiting (pending, running, or for the owner).",
    "failed": "Failed.", "failed_not_sent": "Of them, the owner never sent it.",
    "failed_already_received": "Of them, the group already received another mass send.",
    "capped": "Skipped: over the monthly mass-send cap.", "skipped": "Skipped for another reason.",
}
_COUNTS = {name: fields.Integer(metadata=described(text)) for name, text in _DESCRIPTIONS.items()}
assert set(_COUNTS) >= {*GROUP_FLOWS, *OWNER_FIGURES, *GROUP_SOP_FIGURES}  # every figure described

OwnerRowSchema = Schema.from_dict({
    "userid": fields.String(metadata=described("The owner ('' : groups whose owner is unknown).")),
    "name": fields.String(allow_none=True), "department_id": fields.Integer(allow_none=True),
    "department_name": fields.String(allow_none=True), **_COUNTS}, name="GroupReportOwnerRow")
PlanRowSchema = Schema.from_dict({
    "plan_id": fields.Integer(), "name": fields.String(allow_none=True),
    **{n: _COUNTS[n] for n in GROUP_SOP_FIGURES}}, name="GroupReportPlanRow")
TotalsSchema = Schema.from_dict({"owners": fields.Integer(), **_COUNTS}, name="GroupReportTotals")
SeriesPointSchema = Schema.from_dict(
    {"day": fields.Date(), **{n: fields.Integer(allow_none=True) for n in GROUP_REPORT_SERIES}},
    name="GroupReportPoint")


class GroupReportArgsSchema(ReportFilterArgs):
    pass


class GroupReportSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    last_day = fields.Date(allow_none=True, metadata=described(
        "The day the stocks are read from: the range's last day with group rows (null: none)."))
    owners = fields.List(fields.Nested(OwnerRowSchema), metadata=described("One row per group owner, by userid."))
    plans = fields.List(fields.Nested(PlanRowSchema), metadata=described("SOP results per plan, by plan id."))
    totals = fields.Nested(TotalsSchema)
    series = fields.List(fields.Nested(SeriesPointSchema), metadata=described(
        "One point per day: members and customers at its end, joins, leaves, WeCom's messages, SOP sent."))


class GroupReportExportArgsSchema(GroupReportArgsSchema):
    format = EXPORT_FORMAT
    rows = fields.String(load_default="owners", validate=validate.OneOf(("owners", "plans")),
                         metadata=described("One row per owner (default) or per SOP plan; a total row last."))
