"""GET /api/v1/events and /api/v1/events/<id>: the callback inbox, read-only."""
from __future__ import annotations

from datetime import datetime

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.schemas.events import EventDetailSchema, EventListArgsSchema, EventSchema

blp = make_blueprint("events", __name__, "/api/v1/events",
                     "The callback inbox: every WeCom callback received, and how its processing went.")


@blp.route("")
@blp.arguments(EventListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, EventSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_events(pagination_parameters: PaginationParameters, status: str | None = None,
                event: str | None = None, change_type: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[CallbackEvent]:
    """List callback events

    Newest first, without the payload (see `GET /api/v1/events/{event_id}`). Filters: `status`,
    `event`, `change_type`, received between `since` and `until` (either may be left out). Paginated: `page`,
    `page_size` (default 50, at most 200); totals in the `X-Pagination` header.
    """
    query = (select(CallbackEvent).where(CallbackEvent.corp_id == current_corp_id())
             .order_by(CallbackEvent.received_at.desc(), CallbackEvent.id.desc()))
    if status:
        query = query.where(CallbackEvent.status == status)
    if event:
        query = query.where(CallbackEvent.event == event)
    if change_type:
        query = query.where(CallbackEvent.change_type == change_type)
    if since:
        query = query.where(CallbackEvent.received_at >= since)
    if until:
        query = query.where(CallbackEvent.received_at <= until)
    return page_of(query, pagination_parameters)


@blp.route("/<int:event_id>")
@blp.response(200, EventDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_event(event_id: int) -> CallbackEvent:
    """Get a callback event with its payload"""
    event = db.session.scalar(select(CallbackEvent).filter_by(id=event_id, corp_id=current_corp_id()))
    if event is None:
        raise NotFound("No event with this id.")
    return event
