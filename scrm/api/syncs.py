"""POST /api/v1/syncs (start a sync of the token's corp), GET /api/v1/syncs[/<id>]."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from werkzeug.exceptions import Conflict, NotFound

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.api.writes import service_errors
from scrm.extensions import db
from scrm.models import SyncRun
from scrm.schemas.syncs import SyncListArgsSchema, SyncRunSchema, SyncStartSchema
from scrm.services import sync

blp = make_blueprint("syncs", __name__, "/api/v1/syncs",
                     "Synchronisation with WeCom: start one, follow its progress.")


@blp.route("", methods=["POST"])
@blp.arguments(SyncStartSchema)
@blp.response(202, SyncRunSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="DEFAULT_ERROR", description="A sync is already queued or running for the corp.")
def start_sync(args: dict[str, Any]) -> dict[str, Any]:
    """Start a sync

    Queues a sync of the token's corp on the `sync` queue and answers at once (202) with the
    run; follow it with `GET /api/v1/syncs/{sync_id}`. Only one sync per corp runs at a time:
    409 while another is queued or running.
    """
    try:
        with service_errors():
            run = sync.start(current_corp_id(), args.get("only"), full=args["full"], requested_by="api")
    except sync.AlreadyRunning as exc:
        raise Conflict(f"A sync is already queued or running for this corp: run {exc.run and exc.run.id}.") from None
    return sync.to_dict(run)


@blp.route("")
@blp.arguments(SyncListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, SyncRunSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_syncs(pagination_parameters: PaginationParameters, status: str | None = None) -> list[dict[str, Any]]:
    """List syncs

    Newest first. Paginated: `page`, `page_size` (default 50, at most 200); totals in the
    `X-Pagination` header.
    """
    query = select(SyncRun).where(SyncRun.corp_id == current_corp_id()).order_by(SyncRun.id.desc())
    if status:
        query = query.where(SyncRun.status == status)
    return [sync.to_dict(run) for run in page_of(query, pagination_parameters)]


@blp.route("/<int:sync_id>")
@blp.response(200, SyncRunSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_sync(sync_id: int) -> dict[str, Any]:
    """Get a sync: status, stage, per-stage counts, errors (with WeCom errcodes), times"""
    run = db.session.scalar(select(SyncRun).filter_by(id=sync_id, corp_id=current_corp_id()))
    if run is None:
        raise NotFound("No sync with this id.")
    return sync.to_dict(run)
