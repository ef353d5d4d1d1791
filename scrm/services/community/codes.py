"""Group codes (群活码): WeCom join ways (`groupchat/add_join_way` and friends,
docs/wecom/api.md#group-codes) over 1–5 of our active groups. WeCom first, then our rows: a code
whose `get_join_way` (for the QR code) or commit fails is deleted from WeCom again.

Members who join through a code carry its ``state`` in `groupchat/get` (GroupMember.state):
that is the attribution (code_stats.py). Rooms WeCom creates when the groups are full are picked
up by code_rooms.py."""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CommunityStatus, GroupChat, GroupChatStatus, GroupCode, GroupCodeChat
from scrm.services.community.common import commit_or_undo, corp_rows, get_in_corp, is_gone
from scrm.services.corps import wecom_client
from scrm.services.validation import Invalid, raise_if
from scrm.wecom import WeComError

MAX_CHATS = 5
WECOM_FIELDS = ("remark", "auto_create_room", "room_base_name", "room_base_id", "chat_ids")


def get(corp_id: str, code_id: int) -> GroupCode | None:
    return get_in_corp(GroupCode, corp_id, code_id)


def list_query(corp_id: str, include_deleted: bool = False):
    return corp_rows(GroupCode, corp_id, include_deleted)


def chats_of(code_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """code id → its groups in WeCom's order: chat_id, source (operator | auto_created)."""
    out: dict[int, list[dict[str, Any]]] = {code_id: [] for code_id in code_ids}
    if code_ids:
        for row in db.session.scalars(select(GroupCodeChat).where(GroupCodeChat.group_code_id.in_(code_ids))
                                      .order_by(GroupCodeChat.position, GroupCodeChat.id)):
            out[row.group_code_id].append({"chat_id": row.chat_id, "source": row.source})
    return out


def _check(corp_id: str, code: GroupCode | None, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    state = data.get("state")
    if state:
        clash = db.session.scalar(select(GroupCode.id).where(
            GroupCode.corp_id == corp_id, GroupCode.state == state, GroupCode.id != (code.id if code else -1)))
        if clash:
            errors["state"] = [f"Already used by group code {clash} (a state is unique per corp)."]
    chat_ids = data.get("chat_ids")
    if chat_ids is not None:
        known = set(db.session.scalars(select(GroupChat.chat_id).where(
            GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(chat_ids), GroupChat.status == GroupChatStatus.ACTIVE)))
        unknown = [chat_id for chat_id in chat_ids if chat_id not in known]
        if unknown:
            errors["chat_ids"] = [f"Not an active group of this corp: {', '.join(unknown)}."]
        elif len(set(chat_ids)) != len(chat_ids):
            errors["chat_ids"] = ["A group is listed twice."]
    auto = data.get("auto_create_room", code.auto_create_room if code else True)
    base_name = data.get("room_base_name", code.room_base_name if code else None)
    if auto and not base_name:
        errors["room_base_name"] = ["Required when auto_create_room is on (new rooms are named after it)."]
    raise_if(errors)


def _wecom_body(code: GroupCode, chat_ids: list[str]) -> dict[str, Any]:
    body = {"scene": code.scene, "remark": code.remark, "auto_create_room": 1 if code.auto_create_room else 0,
            "room_base_name": code.room_base_name if code.auto_create_room else None,
            "room_base_id": code.room_base_id if code.auto_create_room else None,
            "chat_id_list": list(chat_ids), "state": code.state}
    return {key: value for key, value in body.items() if value is not None}


def _set_chats(code: GroupCode, chat_ids: list[str]) -> None:
    """The code's groups become ``chat_ids`` in this order (a group kept keeps its source)."""
    sources = {row.chat_id: row.source for row in db.session.scalars(
        select(GroupCodeChat).where(GroupCodeChat.group_code_id == code.id))}
    db.session.execute(sql_delete(GroupCodeChat).where(GroupCodeChat.group_code_id == code.id))
    for position, chat_id in enumerate(chat_ids):
        db.session.add(GroupCodeChat(corp_id=code.corp_id, group_code_id=code.id, chat_id=chat_id,
                                     position=position, source=sources.get(chat_id, "operator")))


def create(corp_id: str, data: dict[str, Any]) -> GroupCode:
    _check(corp_id, None, data)
    code = GroupCode(corp_id=corp_id, name=data["name"], remark=data.get("remark"), scene=data.get("scene", 2),
                     state=data.get("state") or "gc" + secrets.token_hex(8),
                     auto_create_room=data.get("auto_create_room", True),
                     room_base_name=data.get("room_base_name"), room_base_id=data.get("room_base_id"),
                     status=CommunityStatus.ACTIVE)
    body = _wecom_body(code, data["chat_ids"])
    db.session.rollback()  # no transaction open while WeCom answers
    client = wecom_client(corp_id)
    config_id = client.join_way("add", body)["config_id"]
    undo = lambda: client.join_way("del", {"config_id": config_id})  # noqa: E731
    try:
        join_way = client.join_way("get", {"config_id": config_id}).get("join_way") or {}
    except WeComError:
        undo()
        raise
    code.config_id, code.qr_code = config_id, join_way.get("qr_code")
    db.session.add(code)
    db.session.flush()
    _set_chats(code, data["chat_ids"])
    commit_or_undo(undo, f"join way {config_id}")
    return code


def update(code: GroupCode, data: dict[str, Any]) -> GroupCode:
    if code.status != CommunityStatus.ACTIVE:
        raise Invalid({"id": ["The group code was deleted."]})
    _check(code.corp_id, code, data)
    current = [chat["chat_id"] for chat in chats_of([code.id])[code.id]]
    chat_ids = data.get("chat_ids", current)
    if "chat_ids" not in data and len(current) > MAX_CHATS:
        chat_ids = current[-MAX_CHATS:]  # WeCom's list holds at most 5: the newest rooms
    wecom_changed = any(key in data and data[key] != (current if key == "chat_ids" else getattr(code, key))
                        for key in WECOM_FIELDS)
    with db.session.no_autoflush:  # the changes reach the database only once WeCom took them
        for key in ("name", "remark", "auto_create_room", "room_base_name", "room_base_id"):
            if key in data:
                setattr(code, key, data[key])
    if wecom_changed:
        try:
            wecom_client(code.corp_id).join_way("update", {"config_id": code.config_id, **_wecom_body(code, chat_ids)})
        except WeComError:
            db.session.rollback()
            raise
    if "chat_ids" in data:
        _set_chats(code, chat_ids)
    db.session.commit()
    return code


def delete(code: GroupCode) -> None:
    """`del_join_way` (one WeCom no longer knows counts as deleted); our row and its groups stay,
    deleted, for the attribution of the members who joined through it."""
    if code.status == CommunityStatus.DELETED:
        return
    try:
        wecom_client(code.corp_id).join_way("del", {"config_id": code.config_id})
    except WeComError as exc:
        if not is_gone(exc):
            raise
    code.status = CommunityStatus.DELETED
    db.session.commit()

