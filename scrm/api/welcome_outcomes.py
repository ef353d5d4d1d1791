"""GET /api/v1/welcome/outcomes: how each new customer's welcome message went."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_smorest.pagination import PaginationParameters

from scrm.api import scoping
from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.models import WelcomeMessage
from scrm.schemas.welcome import WelcomeOutcomeArgsSchema, WelcomeOutcomeSchema
from scrm.services import privacy
from scrm.services.welcome_outcomes import outcomes_query

blp = make_blueprint("welcome_outcomes", __name__, "/api/v1/welcome",
                     "Welcome outcomes: sent, too late, already chatting or failed, with latency.")


@blp.route("/outcomes")
@blp.arguments(WelcomeOutcomeArgsSchema, location="query", as_kwargs=True)
@blp.response(200, WelcomeOutcomeSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@paginate(blp)
def list_outcomes(pagination_parameters: PaginationParameters, status: str | None = None,
                  since: datetime | None = None, until: datetime | None = None, userid: str | None = None,
                  external_userid: str | None = None) -> list[dict[str, Any]]:
    """List welcome outcomes

    One item per add that carried a WelcomeCode: the customer, the staff member, what WeCom
    answered and how long it took from the callback's receipt (`latency_ms`). Newest add first.
    Filters: `status`, `since` / `until` (time of the add), `userid`, `external_userid`. The
    message text is not included (it may carry the customer's name). Reads are recorded in the
    audit log per customer (`api_list_welcome_outcomes`). Paginated: `page`, `page_size`
    (default 50, at most 200); totals in the `X-Pagination` header.
    """
    corp_id = current_corp_id()
    query = outcomes_query(corp_id, status=status, since=since, until=until, userid=userid,
                           external_userid=external_userid)
    rows = page_of(scoping.scoped(query, WelcomeMessage.userid), pagination_parameters)
    items = [row_dict(row) for row in rows]  # before the audit's commit expires the rows
    privacy.record_api_reads(corp_id, current_actor(), "api_list_welcome_outcomes",
                             [item["external_userid"] for item in items if item["external_userid"]])
    return items
