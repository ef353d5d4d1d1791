"""Rooms WeCom creates for a group code (auto_create_room, docs/wecom/api.md#group-codes): when all
of a code's groups are full WeCom opens `room_base_name` + number and adds it to the join way.
No callback says so; what we see is a `change_external_chat` create for a group we do not list
under any code, or members whose `state` is a code's. Then we re-read `get_join_way` of the
candidate codes (at most once per code per minute, shared by every worker through Redis) and add
the new chat_ids as GroupCodeChat(source="auto_created").

Called by the group event handler after its `groupchat/get` and before it writes (no WeCom call
inside a write transaction); the rows join the handler's transaction."""
from __future__ import annotations

import logging

from sqlalchemy import select

from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import CommunityStatus, GroupChat, GroupCode, GroupCodeChat
from scrm.queueing import redis_connection
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

REREAD_EVERY = 60  # s: get_join_way of one code at most this often
THROTTLE_KEY = "scrm:group-code:reread:{corp_id}:{code_id}"


def candidate_codes(corp_id: str, chat_id: str, group: dict, created: bool) -> list[GroupCode]:
    """Active auto-create codes that may have just gained ``chat_id``: those whose state a member
    carries, and (for a new group) those whose groups have the same owner. None when the chat is
    already listed under a code."""
    listed = db.session.scalar(select(GroupCodeChat.id).where(
        GroupCodeChat.corp_id == corp_id, GroupCodeChat.chat_id == chat_id).limit(1))
    if listed is not None:
        return []
    states = {m["state"] for m in group.get("member_list") or [] if m.get("state")}
    if not states and not created:
        return []
    active = (GroupCode.corp_id == corp_id, GroupCode.status == CommunityStatus.ACTIVE,
              GroupCode.auto_create_room.is_(True), GroupCode.config_id.is_not(None))
    codes = list(db.session.scalars(select(GroupCode).where(*active, GroupCode.state.in_(states)))) if states else []
    if created and group.get("owner"):
        codes += db.session.scalars(
            select(GroupCode).where(*active).join(GroupCodeChat, GroupCodeChat.group_code_id == GroupCode.id)
            .join(GroupChat, (GroupChat.corp_id == GroupCodeChat.corp_id)
                  & (GroupChat.chat_id == GroupCodeChat.chat_id))
            .where(GroupChat.owner == group["owner"]).distinct())
    return list({code.id: code for code in codes}.values())


def _may_reread(corp_id: str, code_id: int) -> bool:
    key = THROTTLE_KEY.format(corp_id=corp_id, code_id=code_id)
    return bool(redis_connection().set(key, 1, nx=True, ex=REREAD_EVERY))


def pick_up(ctx, chat_id: str, group: dict) -> int:
    """Re-read the candidate codes' join ways and list the chat_ids WeCom added. Returns how many
    GroupCodeChat rows were added. A WeCom failure is logged, never fails the group event (the
    next event or member join with the code's state tries again)."""
    codes = candidate_codes(ctx.corp_id, chat_id, group, ctx.change_type == "create")
    if not codes:
        return 0
    lists: dict[int, list[str]] = {}
    for code in codes:
        if not _may_reread(ctx.corp_id, code.id):
            continue
        try:
            join_way = ctx.wecom.join_way("get", {"config_id": code.config_id}).get("join_way") or {}
        except WeComError as exc:
            log.warning("get_join_way of group code %s failed: %s", code.id, exc)
            continue
        lists[code.id] = list(join_way.get("chat_id_list") or [])
    added = 0
    for code in codes:
        chat_ids = lists.get(code.id)
        if not chat_ids:
            continue
        known = set(db.session.scalars(select(GroupCodeChat.chat_id).where(GroupCodeChat.group_code_id == code.id)))
        base = len(known)
        for offset, new_chat in enumerate(c for c in chat_ids if c not in known):
            added += insert_ignoring_conflict(GroupCodeChat, dict(
                corp_id=ctx.corp_id, group_code_id=code.id, chat_id=new_chat, position=base + offset,
                source="auto_created"))
    if added:
        log.info("group codes: %d auto-created room(s) picked up (event %s)", added, ctx.event_id)
    return added
