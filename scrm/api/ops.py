"""Operations (admin scope): GET /api/v1/jobs/failed, POST /api/v1/jobs/failed/<id>/retry,
DELETE /api/v1/jobs/failed/<id>, GET /api/v1/wecom-errors. The console's 运维 page calls these
with /status, /events, /syncs and /audit-log."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import redis
from flask import request
from flask_smorest.pagination import PaginationParameters
from werkzeug.exceptions import NotFound, ServiceUnavailable

from scrm.api.auth import current_actor, current_corp_id, require_scope
from scrm.api.common import MAX_PAGE, make_blueprint, paginate
from scrm.api.writes import unprocessable
from scrm.models.corp import TokenScope
from scrm.schemas.ops import FailedJobArgsSchema, FailedJobSchema, WecomErrorsArgsSchema, WecomErrorsSchema
from scrm.services import ops

blp = make_blueprint("ops", __name__, "/api/v1",
                     "Operations (admin tokens): failed jobs (retry, delete) and WeCom API errors over time.")

JOB_ID_MAX = 128
NOT_FAILED = "No failed job with this id (retried, deleted or expired meanwhile?)."


def _redis_down(exc: redis.RedisError) -> ServiceUnavailable:
    return ServiceUnavailable(f"Redis cannot be reached ({type(exc).__name__}).")


def _job_id(job_id: str) -> str:
    if len(job_id) > JOB_ID_MAX:
        raise NotFound(NOT_FAILED)
    return job_id


@blp.route("/jobs/failed")
@blp.arguments(FailedJobArgsSchema, location="query", as_kwargs=True)
@blp.response(200, FailedJobSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Redis cannot be reached.")
@paginate(blp)
def list_failed_jobs(pagination_parameters: PaginationParameters, queue: str | None = None) -> list[dict[str, Any]]:
    """List failed jobs (admin tokens only)

    The jobs in RQ's failed job registries (kept 7 days), newest failure first, of every queue
    or `queue`: the function, queue, times and the exception's type — never the job's arguments
    or the exception's message, which may carry personal data (`flask scrm failed` shows a
    redacted first line). The deployment's jobs, not only the token's corp's. Paginated: `page`,
    `page_size` (default 50, at most 200); totals in the `X-Pagination` header.
    """
    require_scope(TokenScope.ADMIN)
    if pagination_parameters.page > MAX_PAGE:
        raise unprocessable("query", {"page": [f"Must be at most {MAX_PAGE}."]})
    try:
        page = ops.failed_page(queue, pagination_parameters.first_item, pagination_parameters.page_size)
    except redis.RedisError as exc:
        raise _redis_down(exc) from None
    pagination_parameters.item_count = page.total
    return [asdict(job) for job in page.jobs]


@blp.route("/jobs/failed/<job_id>/retry", methods=["POST"])
@blp.response(200, FailedJobSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Redis cannot be reached.")
def retry_failed_job(job_id: str) -> dict[str, Any]:
    """Retry a failed job (admin tokens only)

    Puts the job back on the queue it came from, with the same id and arguments (RQ's requeue);
    a worker runs it as any other. Recorded in the audit log (`retry_job`, target_type `job`).
    404 when the id is not a failed job.
    """
    require_scope(TokenScope.ADMIN)
    try:
        job = ops.retry_one(current_corp_id(), _job_id(job_id), current_actor(), ip=request.remote_addr)
    except redis.RedisError as exc:
        raise _redis_down(exc) from None
    if job is None:
        raise NotFound(NOT_FAILED)
    return asdict(job)


@blp.route("/jobs/failed/<job_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Redis cannot be reached.")
def delete_failed_job(job_id: str) -> None:
    """Delete a failed job (admin tokens only)

    Removes it from the failed registry and deletes it: it will not run. Recorded in the audit
    log (`delete_job`). 404 when the id is not a failed job.
    """
    require_scope(TokenScope.ADMIN)
    try:
        deleted = ops.delete_failed(current_corp_id(), _job_id(job_id), current_actor(), ip=request.remote_addr)
    except redis.RedisError as exc:
        raise _redis_down(exc) from None
    if not deleted:
        raise NotFound(NOT_FAILED)


@blp.route("/wecom-errors")
@blp.arguments(WecomErrorsArgsSchema, location="query", as_kwargs=True)
@blp.response(200, WecomErrorsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Redis cannot be reached.")
def wecom_errors(minutes: int, api: str | None = None) -> dict[str, Any]:
    """WeCom API calls and errors over time (admin tokens only)

    The token's corp's calls to WeCom and those that failed (a non-zero errcode, or no JSON
    answer at all) in the last `minutes` calendar minutes (default 60, at most 1440: the
    per-minute counters are kept a day), as points of `step_minutes` each for a chart, and per
    API with the failures per errcode. `api` limits both to one WeCom API path.
    """
    require_scope(TokenScope.ADMIN)
    try:
        return asdict(ops.wecom_errors(current_corp_id(), minutes, api))
    except redis.RedisError as exc:
        raise _redis_down(exc) from None
