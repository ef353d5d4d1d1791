"""GET /api/v1/reports/follow-up and /follow-up/drill: the follow-up report (跟进报表) and the
customers behind its figures (read scope; a member sees the members of their data scope)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response
from flask_smorest.pagination import PaginationParameters

from scrm.api import scoping
from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint, paginate, plain_json, rows_page_of
from scrm.api.exports import FILE_RESPONSE, export_response
from scrm.schemas.reports import (
    DrillArgsSchema,
    DrillExportArgsSchema,
    DrillRowSchema,
    FollowUpExportArgsSchema,
    FollowUpReportArgsSchema,
    FollowUpReportSchema,
)
from scrm.services.group_stats.aggregate import local_today
from scrm.services.reports import drill, exporting, follow_up

blp = make_blueprint("reports", __name__, "/api/v1/reports",
                     "Manager reports read from daily aggregates (rebuilt nightly, today's refreshed every "
                     "few minutes): the follow-up report per member and department, and its drill-down.")
DEFAULT_DAYS = 30


def report_range(args: dict[str, Any]) -> tuple[date, date]:
    last = args.pop("to", None) or local_today()
    first = args.pop("from_", None) or last - timedelta(days=DEFAULT_DAYS - 1)
    return first, last


def report_scope(args: dict[str, Any]) -> tuple[date, date, dict[str, Any]]:
    """A report's range and the member filters its service takes: ``visible`` (the viewer's data
    scope), ``department_id`` and ``userid`` (a member outside the scope is a 404)."""
    first, last = report_range(args)
    return first, last, {"visible": report_members(args), "department_id": args.get("department_id"),
                         "userid": args.get("userid")}


def report_members(args: dict[str, Any]) -> frozenset[str] | None:
    """The viewer's members (None: all); a member outside them named as `userid` is a 404."""
    if args.get("userid"):
        scoping.require_member(args["userid"], "member")
    return scoping.visible_members()


@blp.route("/follow-up")
@blp.arguments(FollowUpReportArgsSchema, location="query")
@blp.response(200, FollowUpReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def follow_up_view(args: dict[str, Any]) -> Response:
    """The follow-up report (跟进报表)

    Per member, per main department and in total: customers owned, new and lost (who deleted
    whom), follow-ups written, next follow-ups due and overdue, SOP and recall tasks due,
    confirmed and pending, first replies to new customers, and WeCom's chats, messages, reply
    rate and reply time. Flows are summed over the range; stocks are read from its last day.
    """
    first, last, members = report_scope(args)
    report = follow_up.report(current_corp_id(), first, last, **members)
    return plain_json(report)


@blp.route("/follow-up/drill")
@blp.arguments(DrillArgsSchema, location="query", as_kwargs=True)
@blp.response(200, DrillRowSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def drill_view(pagination_parameters: PaginationParameters, **args: Any) -> list[dict[str, Any]]:
    """The customers behind a figure of the follow-up report

    One row per relation, newest first: `customers` and `next_overdue` open at the end of the
    range (or now), the flows whose event falls in it. Filters as the report.
    """
    first, last, members = report_scope(args)
    corp_id = current_corp_id()
    userids = follow_up.drill_members(corp_id, first, last, **members)
    return rows_page_of(drill.customers_behind(corp_id, args["figure"], first, last, userids), pagination_parameters)


@blp.route("/follow-up/export")
@blp.arguments(FollowUpExportArgsSchema, location="query")
@blp.alt_response(200, description="The report as an XLSX or CSV file (streamed).", **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def follow_up_export(args: dict[str, Any]) -> Response:
    """The follow-up report as a spreadsheet

    The same filters as the report; one row per member (or per main department) and a total row.
    """
    fmt = args.pop("format")
    first, last, members = report_scope(args)
    columns, rows, title = exporting.follow_up_table(
        current_corp_id(), first, last, **members, per=args["rows"], actor=current_actor())
    return export_response(fmt, f"{title}_{first}_{last}", columns, rows, sheet=title)


@blp.route("/follow-up/drill/export")
@blp.arguments(DrillExportArgsSchema, location="query")
@blp.alt_response(200, description="The customers behind the figure as an XLSX or CSV file (streamed).",
                  **FILE_RESPONSE)
@blp.alt_response(401, response="UNAUTHORIZED")
def drill_export(args: dict[str, Any]) -> Response:
    """The customers behind a figure, as a spreadsheet

    Every row of the drill-down (not one page), read from the database as it is written out.
    Times are corp-local.
    """
    fmt = args.pop("format")
    first, last, members = report_scope(args)
    corp_id = current_corp_id()
    userids = follow_up.drill_members(corp_id, first, last, **members)
    columns, rows, title = exporting.drill_table(corp_id, args["figure"], first, last, userids, current_actor())
    return export_response(fmt, f"跟进报表_{title}_{first}_{last}", columns, rows, sheet=title)
