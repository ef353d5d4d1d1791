"""加入群聊 join ways (群活码, docs/wecom/api.md#group-codes): add / get / update / del_join_way.

World state: ``world.join_ways`` (config_id → a plain dict of the join way, so it persists). The
QR code URL points at this simulator (``/sandbox/qr/join-way/<config_id>.svg``). Rooms created
when the code's groups are full come from the sandbox action (sandbox/community_actions.py)."""
from __future__ import annotations

from flask import request

from sandbox.endpoints.base import Call, endpoint
from sandbox.errors import ApiError, invalid

MAX_CHATS = 5


def _settings(call: Call, current: dict | None = None) -> dict:
    current = current or {}
    scene = call.integer("scene", current.get("scene"), required=not current, low=1, high=2)
    chat_ids = call.items("chat_id_list", required=not current, max_items=MAX_CHATS)
    chat_ids = current.get("chat_id_list", []) if chat_ids is None else chat_ids
    if not chat_ids:
        raise invalid("chat_id_list must not be empty")
    for chat_id in chat_ids:
        call.world.group(chat_id)  # 40050 for an unknown or dismissed group
    auto = call.integer("auto_create_room", current.get("auto_create_room", 1), low=0, high=1)
    base_name = call.text("room_base_name", max_chars=40) or current.get("room_base_name", "")
    if auto and not base_name:
        raise invalid("room_base_name is required when auto_create_room is 1")
    state = call.text("state", max_chars=30) or current.get("state", "")
    return {"scene": scene, "remark": call.text("remark", max_chars=30) or current.get("remark", ""),
            "auto_create_room": auto, "room_base_name": base_name,
            "room_base_id": call.integer("room_base_id", current.get("room_base_id", 1), low=0) or 1,
            "chat_id_list": list(dict.fromkeys(chat_ids)), "state": state}


def _join_way(call: Call) -> dict:
    config_id = call.text("config_id", required=True)
    way = call.world.join_ways.get(config_id)
    if way is None:
        raise invalid(f"config_id {config_id!r} not found")
    return way


@endpoint("externalcontact/groupchat/add_join_way")
def add_join_way(call: Call) -> dict:
    world = call.world
    settings = _settings(call)
    config_id = world.contact_way_id()
    qr_code = f"{request.host_url}sandbox/qr/join-way/{config_id}.svg" if settings["scene"] == 2 else ""
    world.join_ways[config_id] = {"config_id": config_id, **settings, "qr_code": qr_code}
    world.feed.add("join_way", op="add", config_id=config_id, settings=settings)
    return {"config_id": config_id}


@endpoint("externalcontact/groupchat/get_join_way")
def get_join_way(call: Call) -> dict:
    way = _join_way(call)
    return {"join_way": {key: (list(value) if isinstance(value, list) else value) for key, value in way.items()}}


@endpoint("externalcontact/groupchat/update_join_way")
def update_join_way(call: Call) -> dict:
    way = _join_way(call)
    if call.get("scene") is not None and call.integer("scene") != way["scene"]:
        raise ApiError(40058, "scene cannot change")
    way.update(_settings(call, way))
    call.world.feed.add("join_way", op="update", config_id=way["config_id"], settings=dict(way))
    return {}


@endpoint("externalcontact/groupchat/del_join_way")
def del_join_way(call: Call) -> dict:
    way = _join_way(call)
    del call.world.join_ways[way["config_id"]]
    call.world.feed.add("join_way", op="del", config_id=way["config_id"])
    return {}
