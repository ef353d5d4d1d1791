"""Bulk actions on customers: /api/v1/bulk-jobs."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, rows_page_of
from scrm.api.scoping import scoped_audience
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import BulkJob
from scrm.schemas.bulk import BulkItemArgsSchema, BulkItemSchema, BulkJobInSchema, BulkJobSchema
from scrm.services import bulk, privacy

blp = make_blueprint("bulk_jobs", __name__, "/api/v1/bulk-jobs", "Bulk actions on customers: add or remove corp "
                     "tags, start a customer SOP, reassign (在职转接) — each a job with progress, within WeCom's "
                     "limits (one mark_tag per relation, rate-limited; transfers ≤ 100 per call, 2 per customer "
                     "per 90 days), with every failed relation and its reason.")


def _job(job_id: int) -> BulkJob:
    row = db.session.get(BulkJob, job_id)
    return found(row if row is not None and row.corp_id == current_corp_id() else None, "bulk job")


@blp.route("", methods=["POST"])
@blp.arguments(BulkJobInSchema)
@blp.response(201, BulkJobSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_bulk_job(data: dict[str, Any]) -> dict[str, Any]:
    """Start a bulk action

    Queued at once; a job lists the audience's active relations (one item each) and works through
    them in batches, recording progress after each batch. Unknown tags, an unknown or paused SOP,
    a takeover member who is unknown, has left or is the only owner → 422 with field messages.
    """
    with service_errors():
        row = bulk.create(current_corp_id(), {**data, "audience": scoped_audience(data["audience"])},
                          current_actor())
    return bulk.describe([row])[0]


@blp.route("")
@blp.response(200, BulkJobSchema(many=True))
@paginate(blp)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_bulk_jobs(pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """List bulk jobs (newest first)"""
    query = select(BulkJob).where(BulkJob.corp_id == current_corp_id())
    return bulk.describe(page_of(query.order_by(BulkJob.id.desc()), pagination_parameters))


@blp.route("/<int:job_id>")
@blp.response(200, BulkJobSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_bulk_job(job_id: int) -> dict[str, Any]:
    """A bulk job and its progress"""
    return bulk.describe([_job(job_id)])[0]


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@blp.response(200, BulkJobSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def cancel_bulk_job(job_id: int) -> dict[str, Any]:
    """Cancel the items not processed yet (reassign: transfers WeCom started cannot be withdrawn)"""
    row = _job(job_id)
    with service_errors():
        bulk.cancel(row)
    return bulk.describe([row])[0]


@blp.route("/<int:job_id>/items")
@blp.arguments(BulkItemArgsSchema, location="query")
@blp.response(200, BulkItemSchema(many=True))
@paginate(blp)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_bulk_job_items(args: dict[str, Any], job_id: int,
                        pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """A bulk job's relations and what became of each

    Filter by `status` (e.g. `failed`, with the reason). Reads are recorded in the audit log per
    customer (`api_list_bulk_job_items`).
    """
    query = bulk.items_query(_job(job_id), args.get("status"))
    items = rows_page_of(query, pagination_parameters)
    privacy.record_api_reads(current_corp_id(), current_actor(), "api_list_bulk_job_items",
                             [item["external_userid"] for item in items])
    return items
