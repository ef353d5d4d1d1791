"""`change_external_chat`: customer group chats and their members (docs/wecom/callbacks.md#group-events,
docs/wecom/api.md#customer-groups).

create/update are notices: `groupchat/get` gives the whole group, which we upsert. Member
versions (LastMemVer → CurMemVer, and the reply's member_version) tell us when a member event
is already applied, when an earlier one was lost, and when WeCom's detail API still lags.

Timeline kinds for customer members (type 2): joined_group, left_group, group_dismissed, and
group_renamed (data: chat_id, from, to) for each customer in the group when a callback shows the
name changed (the full sync applies a name silently: it cannot tell when it changed).
A dismissed group keeps its member rows as they were; each customer still in it gets a
group_dismissed entry (they did not leave, the group ended).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from scrm.clock import from_timestamp
from scrm.db import add_new_row, ensure_row
from scrm.extensions import db
from scrm.models import GroupChat, GroupChatStatus, GroupMember
from scrm.services.community import code_rooms
from scrm.services.events.common import as_int, as_list, record
from scrm.services.events.registry import EventContext, RetryLater, handles

log = logging.getLogger(__name__)

EVENT = "change_external_chat"
MEMBER_CHANGES = ("add_member", "del_member")
CUSTOMER = 2  # member type: 1 staff, 2 external contact
# groupchat/get may lag the callback (docs/wecom/callbacks.md#group-events): wait this many attempts for the reply's
# member_version to reach CurMemVer, then take what it returns.
LAG_ATTEMPTS = 3
LAG_DELAY = 5.0


@handles(EVENT, "create", "update")
def chat_changed(ctx: EventContext) -> None:
    chat_id = ctx.get("ChatId")
    # Read, fetch from WeCom, then lock and write: no WeCom call (nor a wait on its token lock)
    # while a write transaction is open.
    stored = db.session.scalar(select(GroupChat).filter_by(corp_id=ctx.corp_id, chat_id=chat_id))
    if stored is not None and _already_applied(ctx, stored):
        return
    group = ctx.wecom.groupchat_get(chat_id, need_name=1)["group_chat"]
    cur_ver = ctx.get("CurMemVer")
    if cur_ver and group.get("member_version") != cur_ver and ctx.attempts < LAG_ATTEMPTS:
        raise RetryLater(f"groupchat/get of {chat_id} at member version {group.get('member_version')}, "
                         f"event says {cur_ver}", delay=LAG_DELAY)
    code_rooms.pick_up(ctx, chat_id, group)  # rooms WeCom created for a group code (reads WeCom)
    # The lock serialises the writes of one chat's events; check again what a concurrent one
    # committed meanwhile.
    chat, created = ensure_row(GroupChat, lock=True, corp_id=ctx.corp_id, chat_id=chat_id)
    if _already_applied(ctx, chat):
        return
    last_ver = ctx.get("LastMemVer")
    if last_ver and chat.member_version and last_ver != chat.member_version:
        log.warning("chat %s member version gap: stored %s, event starts from %s; an earlier "
                    "event was lost or is late, the full refresh repairs it",
                    chat_id, chat.member_version, last_ver)
    old_name = chat.name
    apply_chat(chat, group)
    if not created and chat.name != old_name:
        record_renamed(ctx, chat, old_name)  # to the members before this event's joins and leaves
    apply_members(ctx, chat, group.get("member_list") or [], ctx.get("UpdateDetail"))


def record_renamed(ctx: EventContext, chat: GroupChat, old_name: str | None) -> None:
    """A group_renamed entry (old and new name) for each customer currently in the group."""
    customers = db.session.scalars(select(GroupMember.member_id).filter_by(
        corp_id=ctx.corp_id, chat_id=chat.chat_id, type=CUSTOMER, quit_time=None))
    for member_id in customers:
        record(ctx, member_id, "group_renamed", userid=chat.owner, chat_id=chat.chat_id, chat_name=chat.name,
               **{"from": old_name, "to": chat.name})


def _already_applied(ctx: EventContext, chat: GroupChat) -> bool:
    if chat.status == GroupChatStatus.DISMISSED:
        log.info("event for dismissed chat %s ignored", chat.chat_id)
        return True
    # Only member events are covered by the version: a name/notice change may carry the same
    # CurMemVer as the stored one and still needs the fetch.
    cur_ver = ctx.get("CurMemVer")
    if ctx.get("UpdateDetail") in MEMBER_CHANGES and cur_ver and chat.member_version == cur_ver:
        log.info("chat %s already at member version %s", chat.chat_id, cur_ver)
        return True
    return False


def apply_chat(chat: GroupChat, group: dict) -> None:
    """The group_chat fields of a groupchat/get reply (members aside)."""
    chat.name = group.get("name")
    chat.owner = group.get("owner")
    chat.notice = group.get("notice")
    chat.admin_userids = [admin["userid"] for admin in group.get("admin_list") or [] if admin.get("userid")]
    chat.create_time = from_timestamp(group.get("create_time"))
    chat.member_version = group.get("member_version")


def apply_members(ctx: EventContext, chat: GroupChat, listed: list[dict], detail: str | None = None, *,
                  new_chat: bool = False) -> None:
    """Make the chat's current members exactly `listed` (a groupchat/get member_list): new ones
    join, missing ones get a quit time; customers get joined_group / left_group entries.
    `new_chat`: the chat row was inserted just now, so it has no member rows to read."""
    stored: dict[str, GroupMember] = {} if new_chat else {row.member_id: row for row in db.session.scalars(
        select(GroupMember).filter_by(corp_id=ctx.corp_id, chat_id=chat.chat_id))}
    current = {member["userid"]: member for member in listed if member.get("userid")}
    for member_id, member in current.items():
        row = stored.get(member_id)
        values = {"type": member.get("type"), "unionid": member.get("unionid"), "name": member.get("name"),
                  "group_nickname": member.get("group_nickname"),
                  "join_time": from_timestamp(member.get("join_time")), "join_scene": member.get("join_scene"),
                  "invitor": (member.get("invitor") or {}).get("userid"), "state": member.get("state"),
                  "quit_time": None, "quit_scene": None}
        joined = row is None or row.quit_time is not None
        if row is None:
            add_new_row(ctx.pending, GroupMember,
                        {"corp_id": ctx.corp_id, "chat_id": chat.chat_id, "member_id": member_id, **values})
        else:
            for name, value in values.items():
                setattr(row, name, value)
        if joined and values["type"] == CUSTOMER:
            record(ctx, member_id, "joined_group", userid=chat.owner, chat_id=chat.chat_id,
                   chat_name=chat.name, join_scene=values["join_scene"], state=values["state"],
                   invitor=values["invitor"], join_time=member.get("join_time"))
    # QuitScene describes the members this event names; others found missing were lost events.
    quit_scene = as_int(ctx.get("QuitScene")) if detail == "del_member" else None
    named = set(as_list(ctx.data.get("MemChangeList")))
    for member_id, row in stored.items():
        if member_id in current or row.quit_time is not None:
            continue
        row.quit_time = ctx.occurred_at
        row.quit_scene = quit_scene if (not named or member_id in named) else None
        if row.type == CUSTOMER:
            record(ctx, member_id, "left_group", userid=chat.owner, chat_id=chat.chat_id,
                   chat_name=chat.name, quit_scene=row.quit_scene)


@handles(EVENT, "dismiss")
def chat_dismissed(ctx: EventContext) -> None:
    # No WeCom call: the group is gone, groupchat/get would only fail.
    chat, _ = ensure_row(GroupChat, lock=True, corp_id=ctx.corp_id, chat_id=ctx.get("ChatId"))
    dismiss_chat(ctx, chat)


def dismiss_chat(ctx: EventContext, chat: GroupChat) -> None:
    """Mark the chat dismissed (members kept as they were); its customers get group_dismissed."""
    if chat.status == GroupChatStatus.DISMISSED:
        return
    chat.status, chat.dismissed_at = GroupChatStatus.DISMISSED, ctx.occurred_at
    remaining = db.session.scalars(select(GroupMember).filter_by(
        corp_id=ctx.corp_id, chat_id=chat.chat_id, type=CUSTOMER, quit_time=None))
    for row in remaining:
        record(ctx, row.member_id, "group_dismissed", userid=chat.owner, chat_id=chat.chat_id,
               chat_name=chat.name)
