"""GET /api/v1/status: the deployment's status for monitoring (admin tokens only)."""
from __future__ import annotations

from typing import Any

import redis
from werkzeug.exceptions import ServiceUnavailable

from scrm.api.auth import current_corp_id, require_scope
from scrm.api.common import make_blueprint
from scrm.models.corp import TokenScope
from scrm.schemas.status import StatusSchema
from scrm.services import status

blp = make_blueprint("status", __name__, "/api/v1/status",
                     "The deployment's health for operators: queues, failures, inbox, WeCom calls.")


@blp.route("")
@blp.response(200, StatusSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Redis cannot be reached.")
def get_status() -> dict[str, Any]:
    """Get the deployment's status (admin tokens only)

    The same as `flask scrm status --json`: RQ queue depths and the oldest job's age, failed jobs
    by function with the last error, inbox rows by status, the spool backlog, the scheduler's
    heartbeat; and for the token's corp its last sync, WeCom API calls and errors in the last
    hour by API, and its rate-budget headroom. Queues, failed jobs, the spool (of the host
    answering) and the scheduler are the deployment's. Every field is explained in
    docs/operations.md.
    """
    require_scope(TokenScope.ADMIN)
    try:
        return status.gather([current_corp_id()])
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"Redis cannot be reached ({type(exc).__name__}).") from None
