"""Channel codes (渠道活码): /api/v1/channels."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, row_dict
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import Channel
from scrm.schemas.channels import ChannelCreateSchema, ChannelListArgsSchema, ChannelPatchSchema, ChannelSchema
from scrm.services import channels

blp = make_blueprint("channels", __name__, "/api/v1/channels",
                     "Channel codes (渠道活码): WeCom 「联系我」 QR codes and buttons, with the welcome "
                     "template, tags and staff of each.")


def _out(rows: list[Channel]) -> list[dict[str, Any]]:
    counts = channels.add_counts([c.id for c in rows])
    return [row_dict(c, adds=counts.get(c.id, 0)) for c in rows]


@blp.route("")
@blp.arguments(ChannelListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ChannelSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_channels(status: str | None = None) -> list[dict[str, Any]]:
    """List channel codes"""
    query = select(Channel).where(Channel.corp_id == current_corp_id()).order_by(Channel.id)
    if status:
        query = query.where(Channel.status == status)
    return _out(list(db.session.scalars(query)))


@blp.route("", methods=["POST"])
@blp.arguments(ChannelCreateSchema)
@blp.response(201, ChannelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(502, description="WeCom refused the contact way (errcode in the message).")
def create_channel(data: dict[str, Any]) -> dict[str, Any]:
    """Create a channel code

    Calls WeCom's `add_contact_way` and stores the config id and QR image URL. Every customer
    added through it is attributed to it (by `state`), gets its tags (`mark_tag`) and its
    welcome template.
    """
    with service_errors():
        channel = channels.create(current_corp_id(), data)
    return _out([channel])[0]


@blp.route("/<int:channel_id>")
@blp.response(200, ChannelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_channel(channel_id: int) -> dict[str, Any]:
    """Get a channel code"""
    return _out([found(channels.get(current_corp_id(), channel_id), "channel")])[0]


@blp.route("/<int:channel_id>", methods=["PATCH"])
@blp.arguments(ChannelPatchSchema)
@blp.response(200, ChannelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(502, description="WeCom refused the change.")
def update_channel(data: dict[str, Any], channel_id: int) -> dict[str, Any]:
    """Change a channel code (`update_contact_way` when a WeCom-side field changes; `type` and
    `scene` are fixed once created)"""
    channel = found(channels.get(current_corp_id(), channel_id), "channel")
    with service_errors():
        channels.update(channel, data)
    return _out([channel])[0]


@blp.route("/<int:channel_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(502, description="WeCom refused the deletion.")
def delete_channel(channel_id: int) -> None:
    """Delete a channel code (`del_contact_way`; the row stays, status deleted, for attribution)"""
    channel = found(channels.get(current_corp_id(), channel_id), "channel")
    with service_errors():
        channels.delete(channel)
