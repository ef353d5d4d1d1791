"""GET /api/v1/churn/*: a relation's risk, churn by staff member, by channel and by month (read scope)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_smorest.pagination import PaginationParameters
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.models import ChurnAlert
from scrm.schemas.churn import (
    ChannelChurnReportSchema,
    ChurnAlertArgsSchema,
    ChurnAlertSchema,
    ChurnRangeArgsSchema,
    MonthChurnReportSchema,
    RelationRiskSchema,
    StaffChurnReportSchema,
)
from scrm.services import churn_alerts
from scrm.services.churn import queries

blp = make_blueprint("churn", __name__, "/api/v1/churn",
                     "Churn: each relation's RFE score and risk level (active, cooling, dormant, lost), "
                     "scored nightly, churn by staff member, channel and month, and the alerts sent to "
                     "staff members and their managers.")
DEFAULT_DAYS = 30


def _range(args: dict[str, Any], *, months: bool = False) -> tuple[date, date]:
    last = args.get("to") or queries.local_today()
    first = args.get("from_")
    if first is None:
        first = (last.replace(day=1) - timedelta(days=330)).replace(day=1) if months \
            else last - timedelta(days=DEFAULT_DAYS - 1)
    return first, last


def _report(rows: list[dict], first: date, last: date) -> dict[str, Any]:
    return {"from_": first, "to": last, "thresholds": queries.thresholds(current_corp_id()), "rows": rows}


@blp.route("/relations/<userid>/<external_userid>")
@blp.response(200, RelationRiskSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def relation_risk_view(userid: str, external_userid: str) -> dict[str, Any]:
    """A relation's churn risk

    Level, score and its parts, days silent (to now), the last interaction, the trend and the
    reasons as display texts. 404 before the relation's first nightly scoring.
    """
    scoping.require_member(userid, "relation")
    risk = queries.risk_for(current_corp_id(), userid, external_userid)
    if risk is None:
        raise NotFound("This relation has not been scored.")
    return risk


@blp.route("/by-staff")
@blp.arguments(ChurnRangeArgsSchema, location="query")
@blp.response(200, StaffChurnReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def by_staff_view(args: dict[str, Any]) -> dict[str, Any]:
    """Churn by staff member

    Per member: relations by current level, relations ended in the range (by the customer, by
    the member), relations that reached dormant / lost in it, and WeCom's own behaviour figures
    over it (customers who deleted or blocked the member, chats, reply rate and time).
    """
    first, last = _range(args)
    rows = queries.by_staff(current_corp_id(), first, last)
    visible = scoping.visible_members()
    return _report([r for r in rows if visible is None or r["userid"] in visible], first, last)


@blp.route("/by-channel")
@blp.arguments(ChurnRangeArgsSchema, location="query")
@blp.response(200, ChannelChurnReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def by_channel_view(args: dict[str, Any]) -> dict[str, Any]:
    """Churn by channel

    As by staff member, per the channel code (`state`) the relation was added through.
    """
    scoping.corp_wide_report()
    first, last = _range(args)
    return _report(queries.by_channel(current_corp_id(), first, last), first, last)


@blp.route("/by-month")
@blp.arguments(ChurnRangeArgsSchema, location="query")
@blp.response(200, MonthChurnReportSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def by_month_view(args: dict[str, Any]) -> dict[str, Any]:
    """Churn by month

    Per corp-local month: relations the customer or the member ended, and relations that
    reached dormant / lost in it (their current level). Default: the 12 months up to today.
    """
    scoping.corp_wide_report()
    first, last = _range(args, months=True)
    return _report(queries.by_month(current_corp_id(), first, last), first, last)


@blp.route("/alerts")
@blp.arguments(ChurnAlertArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ChurnAlertSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def alerts_view(pagination_parameters: PaginationParameters, **args: Any) -> list[Any]:
    """List churn alerts, newest first

    One row per fact told to a member or their manager by an app message (message/send):
    a customer deleted the member (to the member and their manager), a relation became dormant
    (the member's daily digest), a member lost or deleted unusually many customers in a day (to
    their manager). Alerts sent together in one message share `msgid`. Customer names are not
    listed (the messages carry them); `external_userid` identifies the customer.
    """
    query = churn_alerts.list_query(current_corp_id(), kind=args.get("kind"), status=args.get("status"),
                                    recipient=args.get("recipient"), about=args.get("about"),
                                    first=args.get("from_"), last=args.get("to"))
    return page_of(scoping.scoped(query, ChurnAlert.about_userid), pagination_parameters)
