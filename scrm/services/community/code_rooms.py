"""Rooms WeCom creates for a group code (auto_create_room, docs/wecom/api.md#group-codes): when all
of a code's groups are full WeCom opens `room_base_name` + number and adds it to the join way.
No callback says so; what we see is a `change_external_chat` create for a group we do not list
under any code, or members whose `state` is a code's. Then we re-read `get_join_way` of the
candidate codes (at most once per code per minute, shared by every worker through Redis; within
the minute a job re-reads it once the minute is over) and add the new chat_ids as
GroupCodeChat(source="auto_created").

Called by the group event handler after its `groupchat/get` and before it writes (no WeCom call
inside a write transaction); the rows join the handler's transaction."""
from __future__ import annotations

import logging

from sqlalchemy import select

from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import CommunityStatus, GroupChat, GroupCode, GroupCodeChat
from scrm.queueing import enqueue_after_commit, redis_connection
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

REREAD_EVERY = 60  # s: get_join_way of one code at most this often
THROTTLE_KEY = "scrm:group-code:reread:{corp_id}:{code_id}"
RECHECK_JOB = "jobs.community.recheck_group_code"


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


def _schedule_recheck(corp_id: str, code_id: int) -> None:
    """A re-read once the minute is over (one per code), so a room created within the minute of
    the last re-read is not missed; enqueued when the handler's transaction commits."""
    enqueue_after_commit(db.session, RECHECK_JOB, corp_id, code_id, queue="periodic", delay=REREAD_EVERY,
                         job_id=f"group-code-recheck-{corp_id}-{code_id}", unique=True)


def _add_chats(corp_id: str, code: GroupCode, chat_ids: list[str]) -> int:
    """List WeCom's chat_ids we do not have under the code yet, as auto-created rooms."""
    known = set(db.session.scalars(select(GroupCodeChat.chat_id).where(GroupCodeChat.group_code_id == code.id)))
    added = 0
    for offset, new_chat in enumerate(c for c in chat_ids if c not in known):
        added += insert_ignoring_conflict(GroupCodeChat, dict(
            corp_id=corp_id, group_code_id=code.id, chat_id=new_chat, position=len(known) + offset,
            source="auto_created"))
    return added


def _read_chat_ids(wecom, code: GroupCode) -> list[str] | None:
    try:
        join_way = wecom.join_way("get", {"config_id": code.config_id}).get("join_way") or {}
    except WeComError as exc:
        log.warning("get_join_way of group code %s failed: %s", code.id, exc)
        return None
    return list(join_way.get("chat_id_list") or [])


def pick_up(ctx, chat_id: str, group: dict) -> int:
    """Re-read the candidate codes' join ways and list the chat_ids WeCom added. Returns how many
    GroupCodeChat rows were added. A WeCom failure is logged, never fails the group event; a code
    re-read less than a minute ago is re-read by a job once the minute is over."""
    codes = candidate_codes(ctx.corp_id, chat_id, group, ctx.change_type == "create")
    lists: dict[int, list[str] | None] = {}
    for code in codes:
        if _may_reread(ctx.corp_id, code.id):
            lists[code.id] = _read_chat_ids(ctx.wecom, code)
        else:
            _schedule_recheck(ctx.corp_id, code.id)
    added = sum(_add_chats(ctx.corp_id, code, lists[code.id] or []) for code in codes if lists.get(code.id))
    if added:
        log.info("group codes: %d auto-created room(s) picked up (event %s)", added, ctx.event_id)
    return added


def recheck(corp_id: str, code_id: int) -> int:
    """The delayed re-read of one code (jobs.community.recheck_group_code); commits."""
    code = db.session.get(GroupCode, code_id)
    if code is None or code.corp_id != corp_id or code.status != CommunityStatus.ACTIVE or not code.config_id:
        return 0
    _may_reread(corp_id, code_id)  # counts as this minute's re-read
    chat_ids = _read_chat_ids(wecom_client(corp_id), code)
    added = _add_chats(corp_id, code, chat_ids or [])
    db.session.commit()
    return added
