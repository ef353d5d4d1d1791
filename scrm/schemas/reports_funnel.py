"""Open API v1: the funnel report (GET /api/v1/reports/funnel, …/export)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.schemas.common import described
from scrm.schemas.reports import EXPORT_FORMAT, ReportFilterArgs


class FunnelReportArgsSchema(ReportFilterArgs):
    channel = fields.String(validate=validate.Length(max=64), metadata=described(
        "One channel code (follow_relation.state, the channel's `state`); empty: every channel."))


class FunnelExportArgsSchema(FunnelReportArgsSchema):
    format = EXPORT_FORMAT
    rows = fields.String(load_default="staff", validate=validate.OneOf(("staff", "channels", "stages")),
                         metadata=described("One row per member (default), per channel code or per stage."))


class FunnelCellSchema(Schema):
    stage_id = fields.Integer()
    customers = fields.Integer(metadata=described("Relations in the stage at the end of `last_day`."))
    entered = fields.Integer(metadata=described("Changes into the stage during the range, while the relation was "
                                                "active."))


class FunnelStageSchema(FunnelCellSchema):
    name = fields.String()
    conversion = fields.Float(allow_none=True, metadata=described(
        "Entries into the next stage / entries into this one during the range (null: last stage, or no entries). "
        "Flow-based: may exceed 1 when customers skip a stage or entered this one before the range."))


class FunnelSeriesPointSchema(Schema):
    day = fields.Date()
    customers = fields.List(fields.Integer(), metadata=described("Per stage, in the order of `stages`."))


class FunnelStaffRowSchema(Schema):
    userid = fields.String()
    name = fields.String(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    department_name = fields.String(allow_none=True)
    customers = fields.Integer(metadata=described("In any stage at the end of `last_day`."))
    stages = fields.List(fields.Nested(FunnelCellSchema), metadata=described("In the order of `stages`."))


class FunnelChannelRowSchema(Schema):
    channel = fields.String(metadata=described("The channel code (\"\": none)."))
    name = fields.String(allow_none=True, metadata=described("The channel's name (operator text)."))
    customers = fields.Integer()
    stages = fields.List(fields.Nested(FunnelCellSchema))


class FunnelReportSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    last_day = fields.Date(allow_none=True, metadata=described(
        "The day the stocks are read from: the range's last aggregated day (null: none)."))
    granularity = fields.String(metadata=described("day, or week for ranges over 62 days (each week's last day)."))
    stages = fields.List(fields.Nested(FunnelStageSchema), metadata=described(
        "The corp's funnel stages in order (deleted ones left out), with their totals."))
    customers = fields.Integer(metadata=described("Relations in any stage at the end of `last_day`."))
    series = fields.List(fields.Nested(FunnelSeriesPointSchema), metadata=described(
        "The stocks per stage at each point of the range (for a stacked chart)."))
    staff = fields.List(fields.Nested(FunnelStaffRowSchema))
    channels = fields.List(fields.Nested(FunnelChannelRowSchema))
