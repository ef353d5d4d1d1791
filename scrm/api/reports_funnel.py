"""GET /api/v1/reports/funnel and /funnel/export: the funnel report (销售漏斗), read from the
daily aggregate stage_daily_stat within the viewer's data scope (as the follow-up report)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.exports import FILE_RESPONSE, export_response
from scrm.api.reports import report_scope
from scrm.schemas.reports_funnel import FunnelExportArgsSchema, FunnelReportArgsSchema, FunnelReportSchema
from scrm.services.reports import funnel, funnel_export

blp = make_blueprint("reports_funnel", __name__, "/api/v1/reports",
                     "The funnel report (销售漏斗): relations per funnel stage, entries and conversion, per member "
                     "and channel, from the daily aggregate stage_daily_stat.")


def _filters(args: dict[str, Any]) -> tuple[date, date, dict[str, Any]]:
    first, last, members = report_scope(args)
    return first, last, {**members, "channel": args.get("channel") or None}


@blp.route("/funnel")
@blp.arguments(FunnelReportArgsSchema, location="query")
@blp.response(200, FunnelReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def funnel_view(args: dict[str, Any]) -> dict[str, Any]:
    """The funnel report (销售漏斗)

    Per funnel stage (the corp's order): relations in it at the end of the range's last
    aggregated day, entries into it during the range, and the conversion to the next stage
    (entries into the next / entries into this one); the stocks per stage over the range (per
    day, per week beyond 62 days); the same per member and per channel code. Filters: range,
    `department_id` (and below), `userid`, `channel`; the viewer's data scope applies.
    """
    first, last, filters = _filters(args)
    return funnel.report(current_corp_id(), first, last, **filters)


@blp.route("/funnel/export")
@blp.arguments(FunnelExportArgsSchema, location="query")
@blp.alt_response(200, description="The funnel report as an XLSX or CSV file (streamed).", **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def funnel_export_view(args: dict[str, Any]) -> Response:
    """The funnel report as a spreadsheet

    The report's filters; one row per member, channel code or stage (`rows`), customers and
    entries per stage, and a total row.
    """
    fmt, per = args.pop("format"), args.pop("rows")
    first, last, filters = _filters(args)
    columns, rows, title = funnel_export.table(current_corp_id(), first, last, per=per, actor=current_actor(),
                                               **filters)
    return export_response(fmt, f"{title}_{first}_{last}", columns, rows, sheet=title)
