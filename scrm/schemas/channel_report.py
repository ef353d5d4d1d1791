"""Open API v1: the channel report (GET /api/v1/reports/channels) and channel costs
(/api/v1/channel-costs)."""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.reports import EXPORT_FORMAT, ReportFilterArgs

MAX_COST_FEN = 10**12  # ten billion yuan
MAX_COST_MONTHS = 36


class ChannelReportArgsSchema(ReportFilterArgs):
    pass


class ChannelExportArgsSchema(ChannelReportArgsSchema):
    format = EXPORT_FORMAT


_FIGURES = {
    "adds": "Relations added through the code in the range (follow_relation.state = the code's state).",
    "welcomed": "Of those adds, the ones a welcome message was delivered for (sent, or WeCom said already chatting).",
    "eligible_7": "Adds at least 7 days old when computed (the base of the 7-day retention).",
    "retained_7": "Of the eligible adds, relations not lost within 7 days of the add (a handover is not a loss).",
    "eligible_30": "Adds at least 30 days old when computed.",
    "retained_30": "Of those, relations not lost within 30 days of the add.",
    "staged": "Adds whose customer is now in a funnel stage beyond the first (frozen 31 days after the add).",
    "lost": "Relations the code brought (added whenever) deleted by the member, the customer or found gone, "
            "in the range.",
}
_DERIVED = {
    "welcome_rate": fields.Float(allow_none=True, metadata=described("welcomed / adds, percent.")),
    "retention_7": fields.Float(allow_none=True, metadata=described("retained_7 / eligible_7, percent.")),
    "retention_30": fields.Float(allow_none=True, metadata=described("retained_30 / eligible_30, percent.")),
    "staged_rate": fields.Float(allow_none=True, metadata=described("staged / adds, percent.")),
    "cost_fen": fields.Integer(allow_none=True, metadata=described(
        "The cost the range bears (fen): each month's cost spread evenly over its days; for a view narrowed "
        "by department, member or data scope, its share of the code's adds. Null: no cost entered.")),
    "cost_per_add_fen": fields.Integer(allow_none=True),
    "cost_per_retained_7_fen": fields.Integer(allow_none=True, metadata=described(
        "cost_fen / (adds × retention_7): the cost per customer expected to stay 7 days.")),
    "cost_per_retained_30_fen": fields.Integer(allow_none=True, metadata=described(
        "cost_fen / (adds × retention_30).")),
}
_STAGES = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
    "Adds of the range per funnel stage their customer is in (stage id → adds; a stage with none left out). "
    "The stage as computed: up to 31 days after the add, then kept."))
_COUNTS = {name: fields.Integer(metadata=described(text)) for name, text in _FIGURES.items()}
ChannelRowSchema = Schema.from_dict({
    "channel_id": fields.Integer(allow_none=True, metadata=described("Null: the adds no channel code brought.")),
    "name": fields.String(allow_none=True), "state": fields.String(allow_none=True),
    "status": fields.String(allow_none=True, metadata=described("active / deleted")),
    **_COUNTS, **_DERIVED, "stages": _STAGES}, name="ChannelReportRow")
ChannelTotalsSchema = Schema.from_dict({**_COUNTS, **_DERIVED, "stages": _STAGES}, name="ChannelReportTotals")
StageSchema = Schema.from_dict({"id": fields.Integer(), "name": fields.String(), "deleted": fields.Boolean()},
                               name="ChannelReportStage")


class ChannelReportSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    stages = fields.List(fields.Nested(StageSchema), metadata=described(
        "The funnel's stages in order (live ones, and deleted ones an add of the range is in)."))
    channels = fields.List(fields.Nested(ChannelRowSchema), metadata=described(
        "Every live channel code (zeros included), deleted codes with figures or a cost, and the row of no "
        "channel (channel_id null) last."))
    totals = fields.Nested(ChannelTotalsSchema)


MONTH = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Expected YYYY-MM."))


def parse_month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


class CostListArgsSchema(Schema):
    from_month = MONTH
    to_month = MONTH
    channel_id = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def check_months(self, data: dict[str, Any], **_: Any) -> None:
        first, last = data.get("from_month"), data.get("to_month")
        if first and last:
            a, b = parse_month(first), parse_month(last)
            if a > b:
                raise ValidationError({"from_month": ["Must not be after `to_month`."]})
            if (b.year - a.year) * 12 + b.month - a.month + 1 > MAX_COST_MONTHS:
                raise ValidationError({"to_month": [f"At most {MAX_COST_MONTHS} months."]})


class CostBodySchema(Schema):
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_COST_FEN),
                                metadata=described("What the code cost that month, in fen (分): 12345 = ¥123.45."))


class CostSchema(Schema):
    channel_id = fields.Integer()
    month = fields.Method("_month", metadata=described("YYYY-MM"))
    amount_fen = fields.Integer()
    updated_by = fields.String(allow_none=True)
    updated_at = UtcDateTime()

    def _month(self, row: Any) -> str:
        month = row["month"] if isinstance(row, dict) else row.month
        return month.isoformat()[:7]
