"""GET /api/v1/reports/groups and /groups/export: the groups report (客户群报表), read scope; a
member sees the groups of the owners in their data scope."""
from __future__ import annotations

from typing import Any

from flask import Response

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint, plain_json
from scrm.api.exports import FILE_RESPONSE, export_response
from scrm.api.reports import report_scope
from scrm.schemas.group_report import GroupReportArgsSchema, GroupReportExportArgsSchema, GroupReportSchema
from scrm.services.reports import exporting, groups

blp = make_blueprint("reports_groups", __name__, "/api/v1/reports",
                     "The groups report (客户群报表) per owner and SOP plan, read from daily aggregates.")


@blp.route("/groups")
@blp.arguments(GroupReportArgsSchema, location="query")
@blp.response(200, GroupReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def groups_view(args: dict[str, Any]) -> Response:
    """The groups report (客户群报表)

    Per group owner and in total: groups and members at the end of the range (customers vs
    staff) and the growth over it, joins by scene (invitation, link, QR code, our group codes)
    and leaves (left, removed), WeCom's message figures, and the SOP executions due in the range
    by outcome (sent, waiting, failed, over the monthly cap); SOP results per plan; a daily
    series for a chart. `department_id` is the owner's main department (and those below it).
    """
    first, last, members = report_scope(args)
    return plain_json(groups.report(current_corp_id(), first, last, **members))


@blp.route("/groups/export")
@blp.arguments(GroupReportExportArgsSchema, location="query")
@blp.alt_response(200, description="The report as an XLSX or CSV file (streamed).", **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def groups_export(args: dict[str, Any]) -> Response:
    """The groups report as a spreadsheet

    The same filters as the report; one row per owner (or per SOP plan: `rows=plans`) and a
    total row.
    """
    fmt = args.pop("format")
    first, last, members = report_scope(args)
    columns, rows, title = exporting.group_table(
        current_corp_id(), first, last, **members, per=args["rows"], actor=current_actor())
    return export_response(fmt, f"{title}_{first}_{last}", columns, rows, sheet=title)
