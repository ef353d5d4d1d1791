"""Mass messages to customers (群发): /api/v1/mass-messages."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, rows_page_of
from scrm.api.scoping import scoped, scoped_audience
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import MassMessage, MassMessageRecipient
from scrm.schemas.mass_messages import (
    MassDetailSchema,
    MassListArgsSchema,
    MassMessageInSchema,
    MassMessageSchema,
    RecipientArgsSchema,
    RecipientSchema,
)
from scrm.services import mass_messages, privacy

blp = make_blueprint("mass_messages", __name__, "/api/v1/mass-messages", "Mass messages to customers (群发): one "
                     "WeCom 1:1 mass-send task per staff member (≤ 10,000 customers each) that the member confirms; "
                     "per-customer results, the monthly receive cap respected and reported.")


def _message(message_id: int) -> MassMessage:
    row = db.session.get(MassMessage, message_id)
    return found(row if row is not None and row.corp_id == current_corp_id() else None, "mass message")


def _detail(row: MassMessage) -> dict[str, Any]:
    return {**mass_messages.describe([row])[0], "tasks": mass_messages.tasks_of(row)}


@blp.route("", methods=["POST"])
@blp.arguments(MassMessageInSchema)
@blp.response(201, MassDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_mass_message(data: dict[str, Any]) -> dict[str, Any]:
    """Send a mass message

    Queued at once; a job picks the recipients (each customer once, through one of their staff
    members; customers at the monthly cap are `capped`) and creates one WeCom task per staff member
    and 10,000 customers. Each member confirms their task in WeCom; results are read back as they send.
    """
    with service_errors():
        row = mass_messages.create(current_corp_id(), {**data, "audience": scoped_audience(data["audience"])},
                                   current_actor())
    return _detail(row)


@blp.route("")
@blp.arguments(MassListArgsSchema, location="query")
@blp.response(200, MassMessageSchema(many=True))
@paginate(blp)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_mass_messages(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """List mass messages (newest first; filter by `status`)"""
    query = select(MassMessage).where(MassMessage.corp_id == current_corp_id())
    if args.get("status"):
        query = query.where(MassMessage.status == args["status"])
    return mass_messages.describe(page_of(query.order_by(MassMessage.id.desc()), pagination_parameters))


@blp.route("/<int:message_id>")
@blp.response(200, MassDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_mass_message(message_id: int) -> dict[str, Any]:
    """A mass message: its figures and its tasks"""
    return _detail(_message(message_id))


@blp.route("/<int:message_id>/cancel", methods=["POST"])
@blp.response(200, MassDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def cancel_mass_message(message_id: int) -> dict[str, Any]:
    """Cancel the tasks not created in WeCom yet (tasks already created stay with their members)"""
    row = _message(message_id)
    with service_errors():
        mass_messages.cancel(row)
    return _detail(row)


@blp.route("/<int:message_id>/recipients")
@blp.arguments(RecipientArgsSchema, location="query")
@blp.response(200, RecipientSchema(many=True))
@paginate(blp)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_recipients(args: dict[str, Any], message_id: int,
                    pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """A mass message's customers and what became of each

    Filter by `status`. Reads are recorded in the audit log per customer
    (`api_list_mass_message_recipients`).
    """
    query = scoped(mass_messages.recipients_query(_message(message_id), args.get("status")),
                   MassMessageRecipient.sender)
    items = rows_page_of(query, pagination_parameters)
    privacy.record_api_reads(current_corp_id(), current_actor(), "api_list_mass_message_recipients",
                             [item["external_userid"] for item in items])
    return items
