"""GET /api/v1/reports/channels (+ /export): the channel report (渠道报表), read from the daily
aggregate channel_daily_stat within the viewer's data scope (family "reports")."""
from __future__ import annotations

from typing import Any

from flask import Response

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.exports import FILE_RESPONSE, export_response
from scrm.api.reports import report_scope
from scrm.schemas.channel_report import ChannelExportArgsSchema, ChannelReportArgsSchema, ChannelReportSchema
from scrm.services.reports import channel_export, channels

blp = make_blueprint("report_channels", __name__, "/api/v1/reports/channels",
                     "The channel report: per channel code (渠道活码), adds, welcome delivery, 7- and 30-day "
                     "retention, funnel stage reached, losses and cost per retained customer.")


@blp.route("")
@blp.arguments(ChannelReportArgsSchema, location="query")
@blp.response(200, ChannelReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def channel_report(args: dict[str, Any]) -> dict[str, Any]:
    """The channel report (渠道报表)

    Per channel code (and a row for adds no code brought): the range's adds, welcome messages
    delivered for them, the 7- and 30-day retention of the adds old enough (with how many were
    eligible), adds whose customer reached a funnel stage beyond the first, the losses of the
    code's customers in the range, and the cost entered for the code (`/api/v1/channel-costs`)
    per add and per retained customer. Members: the viewer's data scope, `department_id`
    (and below) and `userid` filters.
    """
    first, last, members = report_scope(args)
    return channels.report(current_corp_id(), first, last, **members)


@blp.route("/export")
@blp.arguments(ChannelExportArgsSchema, location="query")
@blp.alt_response(200, description="The report as an XLSX or CSV file (streamed).", **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def channel_report_export(args: dict[str, Any]) -> Response:
    """The channel report as a spreadsheet

    The same filters as the report (plus `format`); one row per channel code, the row of no
    channel and a total row. Money in yuan.
    """
    fmt = args.pop("format")
    first, last, members = report_scope(args)
    columns, rows, title = channel_export.table(
        current_corp_id(), first, last, **members, actor=current_actor())
    return export_response(fmt, f"{title}_{first}_{last}", columns, rows, sheet=title)
