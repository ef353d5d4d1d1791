"""GET /api/v1/group-stats/groups, /owners and /retention (group analytics, read scope)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from scrm.api import scoping
from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.writes import unprocessable
from scrm.schemas.group_stats import (
    MAX_RANGE_DAYS,
    GroupStatsArgsSchema,
    GroupStatsSchema,
    OwnerStatsArgsSchema,
    OwnerStatsSchema,
    RetentionArgsSchema,
    RetentionSchema,
)
from scrm.services import group_stats
from scrm.services.group_stats.aggregate import local_today
from scrm.services.group_stats.queries import group_rows, owner_rows

blp = make_blueprint("group_stats", __name__, "/api/v1/group-stats",
                     "Group analytics: daily figures per group and per owner, 7-day retention.")
DEFAULT_DAYS = 30


def _range(args: dict[str, Any]) -> tuple[date, date]:
    last = args.pop("to", None)
    first = args.pop("from_", None)
    if last is None:
        last = local_today() - timedelta(days=1)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise unprocessable("query", {"from": ["Must not be after `to` (default: yesterday)."]})
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise unprocessable("query", {"from": [f"The range must not exceed {MAX_RANGE_DAYS} days."]})
    return first, last


def _in_scope(args: dict[str, Any]) -> None:
    """A member whose scope is not the corp sees groups of members they see (scrm/api/scoping.py)."""
    if args.get("chat_id"):
        scoping.require_group(args["chat_id"])
    else:
        args["owner"] = scoping.owner_in_scope(args.get("owner"))


@blp.route("/groups")
@blp.arguments(GroupStatsArgsSchema, location="query")
@blp.response(200, GroupStatsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def group_stats_view(args: dict[str, Any]) -> dict[str, Any]:
    """Daily figures per group

    Rows are rebuilt nightly from the member history (and by `flask scrm group-stats rebuild`);
    paginated with `page`, `page_size` (default 50, at most 200) inside the object.
    """
    first, last = _range(args)
    _in_scope(args)
    return {"from_": first, "to": last, **group_rows(current_corp_id(), first, last, **args)}


@blp.route("/owners")
@blp.arguments(OwnerStatsArgsSchema, location="query")
@blp.response(200, OwnerStatsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def owner_stats_view(args: dict[str, Any]) -> dict[str, Any]:
    """WeCom's daily figures per group owner

    Pulled nightly from WeCom's `groupchat/statistic` (messages included); paginated as /groups.
    """
    first, last = _range(args)
    _in_scope(args)
    return {"from_": first, "to": last, **owner_rows(current_corp_id(), first, last, **args)}


@blp.route("/retention")
@blp.arguments(RetentionArgsSchema, location="query")
@blp.response(200, RetentionSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def retention_view(args: dict[str, Any]) -> dict[str, Any]:
    """7-day retention of customers who joined groups, per week

    Computed on request from the member history: of the customers who joined in a week and whose
    7th day is over, how many were still in that group 7 days after joining.
    """
    first, last = _range(args)
    _in_scope(args)
    return {"from_": first, "to": last, "weeks": group_stats.retention(current_corp_id(), first, last, **args)}
