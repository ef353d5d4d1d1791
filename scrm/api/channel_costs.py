"""/api/v1/channel-costs: what each channel code cost per month (渠道成本), for the channel
report's cost per retained customer. Family "channels": operators and admins write, managers read."""
from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.writes import unprocessable
from scrm.schemas.channel_report import CostBodySchema, CostListArgsSchema, CostSchema, parse_month
from scrm.services.group_stats.aggregate import local_today
from scrm.services.reports import channel_costs

blp = make_blueprint("channel_costs", __name__, "/api/v1/channel-costs",
                     "Channel code costs per calendar month in fen (渠道成本), read by the channel report.")


def _month(text: str):
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit() or not 1 <= int(text[5:]) <= 12:
        raise unprocessable("path", {"month": ["Expected YYYY-MM."]})
    return parse_month(text)


@blp.route("")
@blp.arguments(CostListArgsSchema, location="query")
@blp.response(200, CostSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_costs(args: dict[str, Any]) -> list:
    """Channel costs per month

    `from_month` / `to_month` (YYYY-MM, default the last 12 months up to this one, at most 36),
    `channel_id`.
    """
    today = local_today()
    last = parse_month(args["to_month"]) if args.get("to_month") else today.replace(day=1)
    first = parse_month(args["from_month"]) if args.get("from_month") else \
        last.replace(year=last.year - 1) if last.month == 12 else last.replace(year=last.year - 1, month=last.month + 1)
    return channel_costs.costs(current_corp_id(), first, last, args.get("channel_id"))


@blp.route("/<int:channel_id>/<month>", methods=["PUT"])
@blp.arguments(CostBodySchema)
@blp.response(200, CostSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def put_cost(data: dict[str, Any], channel_id: int, month: str):
    """Record a channel code's cost for a month

    Replaces what was entered for that code and month; audited (`channel_cost_set`).
    """
    try:
        return channel_costs.set_cost(current_corp_id(), channel_id, _month(month), data["amount_fen"],
                                      current_actor())
    except channel_costs.UnknownChannel:
        raise NotFound("No channel code with this id.") from None


@blp.route("/<int:channel_id>/<month>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_cost(channel_id: int, month: str) -> None:
    """Remove a channel code's cost for a month"""
    if not channel_costs.delete_cost(current_corp_id(), channel_id, _month(month), current_actor()):
        raise NotFound("No cost for this channel code and month.")
