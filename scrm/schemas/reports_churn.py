"""Open API v1: the churn and recall report (GET /api/v1/reports/churn, …/churn/export)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models.churn_report import CHURN_FLOWS, RISK_STOCKS
from scrm.schemas.common import described
from scrm.schemas.reports import EXPORT_FORMAT, ReportFilterArgs

EXPORT_ROWS = ("staff", "channels", "months", "playbooks")


class ChurnReportArgsSchema(ReportFilterArgs):
    pass


class ChurnExportArgsSchema(ChurnReportArgsSchema):
    format = EXPORT_FORMAT
    rows = fields.String(load_default="staff", validate=validate.OneOf(EXPORT_ROWS), metadata=described(
        "One row per member (default), per channel code, per month, or per recall playbook; a total row last."))


_DESCRIPTIONS = {
    "lost_by_staff": "Relations the member deleted (follow_relation status deleted_by_staff).",
    "lost_by_customer": "Relations the customer deleted (deleted_by_customer).",
    "lost_other": "Relations a sync found gone (deleted_unknown).",
    "entered_active": "Relations whose risk level changed to active (recovered).",
    "entered_cooling": "Relations whose risk level changed to cooling.",
    "entered_dormant": "Relations whose risk level changed to dormant.",
    "entered_lost": "Relations whose risk level changed to lost.",
    "risk_active": "Relations at risk level active at the end of the range's last day.",
    "risk_cooling": "… at cooling.", "risk_dormant": "… at dormant.", "risk_lost": "… at lost.",
}
_FIGURES = {name: fields.Integer(metadata=described(_DESCRIPTIONS[name])) for name in (*CHURN_FLOWS, *RISK_STOCKS)}
_DERIVED = {"lost": fields.Integer(metadata=described("lost_by_staff + lost_by_customer + lost_other.")),
            "at_risk": fields.Integer(metadata=described("risk_cooling + risk_dormant + risk_lost."))}
ChurnStaffRow = Schema.from_dict({
    "userid": fields.String(), "name": fields.String(allow_none=True),
    "department_id": fields.Integer(allow_none=True), "department_name": fields.String(allow_none=True),
    **_FIGURES, **_DERIVED}, name="ChurnStaffRow")
ChurnChannelRow = Schema.from_dict({
    "state": fields.String(metadata=described("The channel code (follow_relation.state); \"\" without one.")),
    "channel_name": fields.String(allow_none=True, metadata=described("The channel's name, when the code is one.")),
    **{name: _FIGURES[name] for name in CHURN_FLOWS}, "lost": _DERIVED["lost"]}, name="ChurnChannelRow")
ChurnMonthRow = Schema.from_dict({
    "month": fields.String(metadata=described("Corp-local month YYYY-MM (the range's part of it).")),
    **{name: fields.Integer() for name in CHURN_FLOWS}, "lost": fields.Integer()}, name="ChurnMonthRow")
ChurnTotals = Schema.from_dict({"members": fields.Integer(), **_FIGURES, **_DERIVED}, name="ChurnTotals")
_RECALL = {
    "sent": fields.Integer(metadata=described("Recalls that went out (by sent_at): awaiting the mass send, or sent.")),
    "confirmed": fields.Integer(metadata=described("Of those, confirmed (mass send sent, or sent from the sidebar).")),
    "re_engaged": fields.Integer(metadata=described(
        "Of those, won: the customer replied, the member wrote a follow-up, or the customer re-added, "
        "within the recall window.")),
    "expired": fields.Integer(metadata=described("Of those, lost: the window passed without re-engagement.")),
    "rate": fields.Float(allow_none=True, metadata=described("re_engaged / sent (0..1); null without sends.")),
}
RecallPlaybookRow = Schema.from_dict({
    "playbook_id": fields.Integer(), "name": fields.String(allow_none=True), "trigger": fields.String(allow_none=True),
    **_RECALL}, name="ChurnRecallPlaybookRow")
RecallTotals = Schema.from_dict(_RECALL, name="ChurnRecallTotals")


class ChurnReportSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    last_day = fields.Date(allow_none=True, metadata=described(
        "The day the risk-level stocks are read from: the range's last day that has rows (null: none)."))
    staff = fields.List(fields.Nested(ChurnStaffRow), metadata=described("One row per member with figures."))
    channels = fields.List(fields.Nested(ChurnChannelRow), metadata=described(
        "One row per channel code with losses or moves in the range (flows only)."))
    months = fields.List(fields.Nested(ChurnMonthRow), metadata=described("Every month of the range, in order."))
    totals = fields.Nested(ChurnTotals)
    playbooks = fields.List(fields.Nested(RecallPlaybookRow), metadata=described(
        "One row per recall playbook with recalls sent in the range (by the members in scope)."))
    recall_totals = fields.Nested(RecallTotals)

