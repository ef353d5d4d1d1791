"""GET /api/v1/reports/churn and /churn/export: the churn and recall report (流失与召回报表),
read from churn_daily_stat and recall_daily_stat (read scope; a member sees the members of their
data scope, as the follow-up report)."""
from __future__ import annotations

from typing import Any

from flask import Response

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.exports import FILE_RESPONSE, export_response
from scrm.api.reports import report_scope
from scrm.schemas.reports_churn import ChurnExportArgsSchema, ChurnReportArgsSchema, ChurnReportSchema
from scrm.services.reports import churn, churn_export

blp = make_blueprint("reports_churn", __name__, "/api/v1/reports",
                     "The churn and recall report: losses per member, channel and month, risk-level stocks and "
                     "moves, recalls per playbook (daily aggregates, today's refreshed every few minutes).")


@blp.route("/churn")
@blp.arguments(ChurnReportArgsSchema, location="query")
@blp.response(200, ChurnReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def churn_view(args: dict[str, Any]) -> dict[str, Any]:
    """The churn and recall report (流失与召回报表)

    Relations lost (deleted by the member, by the customer, found gone by a sync) per member,
    per channel code and per corp-local month; relations entering each risk level (active,
    cooling, dormant, lost) in the range and at each level at its end; recalls per playbook —
    sent, confirmed, re-engaged (won within the window) and the recall rate (re-engaged / sent),
    by the day the recalls went out. Filters and data scope as the follow-up report.
    """
    first, last, members = report_scope(args)
    return churn.report(current_corp_id(), first, last, **members)


@blp.route("/churn/export")
@blp.arguments(ChurnExportArgsSchema, location="query")
@blp.alt_response(200, description="The report as an XLSX or CSV file (streamed).", **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def churn_export_view(args: dict[str, Any]) -> Response:
    """The churn and recall report as a spreadsheet

    The report's filters; `rows`: one row per member (default), channel code, month or recall
    playbook, and a total row.
    """
    fmt = args.pop("format")
    first, last, members = report_scope(args)
    columns, rows, title = churn_export.churn_table(
        current_corp_id(), first, last, **members, per=args["rows"], actor=current_actor())
    return export_response(fmt, f"{title}_{first}_{last}", columns, rows, sheet=title)
