"""Open API v1: manager reports (GET /api/v1/reports/*)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models.reports import DRILL_FIGURES, STAFF_FLOWS, STAFF_STOCKS
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.group_stats import MAX_RANGE_DAYS, DayRangeArgs

RANGE_NOTE = (f"Corp-local dates YYYY-MM-DD, `from` ≤ `to`, at most {MAX_RANGE_DAYS} days; default: the 30 days "
              "up to today (today's rows are refreshed every few minutes).")


class ReportFilterArgs(DayRangeArgs):
    department_id = fields.Integer(validate=validate.Range(min=1), metadata=described(
        "Members whose main department is this one or one below it."))
    userid = fields.String(validate=validate.Length(min=1, max=64), metadata=described("One member."))


class FollowUpReportArgsSchema(ReportFilterArgs):
    pass


class DrillArgsSchema(ReportFilterArgs):
    figure = fields.String(required=True, validate=validate.OneOf(DRILL_FIGURES), metadata=described(
        "customers / next_overdue: open at the end of the range (or now); new_customers, lost_by_staff, "
        "lost_by_customer, lost_other, transferred_out: relations whose event falls in the range."))


_DESCRIPTIONS = {
    "customers": "Active relations at the end of the range's last day.",
    "next_overdue": "Next follow-ups due and not met (no later follow-up of that customer by the member) "
                    "at the end of the last day.",
    "sop_pending": "SOP tasks due and not yet confirmed at the end of the last day.",
    "recall_pending": "Recall tasks due and not yet confirmed at the end of the last day.",
    "new_customers": "Relations added.", "lost_by_staff": "The member deleted the customer.",
    "lost_by_customer": "The customer deleted the member.", "lost_other": "Ended, by whom unknown.",
    "transferred_out": "Handed over to another member.", "follow_ups": "Follow-ups (跟进记录) written.",
    "next_due": "Next follow-ups falling due.", "sop_due": "SOP tasks falling due.",
    "sop_confirmed": "SOP tasks confirmed (mass send sent, or sent from the sidebar).",
    "recall_due": "Recall tasks falling due.", "recall_confirmed": "Recall tasks confirmed.",
    "first_replies": "New customers the member wrote to within 24 hours of the add (archived messages).",
    "first_reply_seconds": "Seconds those first replies took, in sum.",
}
_FIGURES = {name: fields.Integer(metadata=described(_DESCRIPTIONS[name])) for name in (*STAFF_STOCKS, *STAFF_FLOWS)}
_DERIVED = {
    "lost": fields.Integer(metadata=described("lost_by_staff + lost_by_customer + lost_other.")),
    "first_reply_avg_seconds": fields.Integer(allow_none=True),
    "chats": fields.Integer(metadata=described("WeCom's chat_cnt summed (get_user_behavior_data).")),
    "messages": fields.Integer(metadata=described("WeCom's message_cnt summed.")),
    "reply_rate": fields.Float(allow_none=True, metadata=described(
        "WeCom's reply_percentage (percent), weighted by each day's chats.")),
    "avg_reply_minutes": fields.Float(allow_none=True, metadata=described(
        "WeCom's avg_reply_time (minutes), weighted by each day's chats.")),
}
StaffRowSchema = Schema.from_dict({
    "userid": fields.String(), "name": fields.String(allow_none=True),
    "department_id": fields.Integer(allow_none=True), "department_name": fields.String(allow_none=True),
    **_FIGURES, **_DERIVED}, name="FollowUpStaffRow")
DepartmentRowSchema = Schema.from_dict({
    "department_id": fields.Integer(allow_none=True), "department_name": fields.String(allow_none=True),
    "members": fields.Integer(), **_FIGURES, **_DERIVED}, name="FollowUpDepartmentRow")
TotalsSchema = Schema.from_dict({"members": fields.Integer(), **_FIGURES, **_DERIVED}, name="FollowUpTotals")


class FollowUpReportSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    last_day = fields.Date(allow_none=True, metadata=described(
        "The day the stocks are read from: the range's last day that has rows (null: none)."))
    staff = fields.List(fields.Nested(StaffRowSchema), metadata=described("One row per member, by userid."))
    departments = fields.List(fields.Nested(DepartmentRowSchema), metadata=described(
        "The members of each main department added up (not the departments below it)."))
    totals = fields.Nested(TotalsSchema)


class DrillRowSchema(Schema):
    userid = fields.String()
    external_userid = fields.String()
    name = fields.String(allow_none=True, metadata=described("The customer's name (customer-controlled text)."))
    at = UtcDateTime(allow_none=True, metadata=described(
        "When: the add, the end, or the next follow-up's due time (next_overdue)."))


EXPORT_FORMAT = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")),
                              metadata=described("xlsx (default) or csv (UTF-8 with a BOM)."))


class FollowUpExportArgsSchema(FollowUpReportArgsSchema):
    format = EXPORT_FORMAT
    rows = fields.String(load_default="staff", validate=validate.OneOf(("staff", "departments")),
                         metadata=described("One row per member (default) or per main department; a total row last."))


class DrillExportArgsSchema(DrillArgsSchema):
    format = EXPORT_FORMAT
