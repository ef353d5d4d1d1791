"""客户群 APIs (docs/wecom/api.md#customer-groups): list with cursor, detail with member_version, transfers."""
from __future__ import annotations

from itertools import islice

from sandbox.endpoints.base import Call, decode_cursor, encode_cursor, endpoint
from sandbox.errors import ApiError, invalid
from sandbox.model import GroupChat, Member
from sandbox.world import World


def owner_filter(call: Call) -> set[str] | None:
    """owner_filter.userid_list (≤ 100); without it WeCom refuses (81017) once more than 1000
    members are in the app's visibility."""
    owner_filter = call.body.get("owner_filter")
    userids = owner_filter.get("userid_list") if isinstance(owner_filter, dict) else None
    if userids is None:
        visible = sum(1 for _ in call.world.active_staff())
        if visible > call.world.config.visible_staff_limit:
            raise ApiError(81017, f"{visible} members visible; use owner_filter")
        return None
    if not isinstance(userids, list) or len(userids) > 100:
        raise invalid("owner_filter.userid_list must be a list of at most 100 userids")
    return set(userids)


@endpoint("externalcontact/groupchat/list")
def groupchat_list(call: Call) -> dict:
    status = call.integer("status_filter", 0, low=0, high=3)
    limit = call.integer("limit", required=True, low=1, high=1000)
    owners = owner_filter(call)
    after = (decode_cursor(call.text("cursor"), 1) or [0])[0]
    rows = (g for g in call.world.groups.values()
            if g.seq > after and not g.dismissed and (not status or g.status == status)
            and (owners is None or g.owner in owners))
    page = list(islice(rows, limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return {"group_chat_list": [{"chat_id": g.chat_id, "status": g.status} for g in page],
            "next_cursor": encode_cursor(page[-1].seq) if more else ""}


def member_json(world: World, member: Member, need_name: bool) -> dict:
    out: dict = {"userid": member.userid, "type": member.type, "join_time": member.join_time,
                 "join_scene": member.join_scene}
    if member.type == 2:
        customer = world.customers.get(member.userid)
        if customer is not None and customer.unionid:
            out["unionid"] = customer.unionid
    if member.invitor:
        out["invitor"] = {"userid": member.invitor}
    out["group_nickname"] = member.group_nickname
    if need_name:
        person = world.staff.get(member.userid) if member.type == 1 else world.customers.get(member.userid)
        out["name"] = person.name if person is not None else ""
    if member.state:
        out["state"] = member.state
    return out


def group_json(world: World, group: GroupChat, need_name: bool) -> dict:
    return {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
            "create_time": group.create_time, "notice": group.notice,
            "member_list": [member_json(world, m, need_name) for m in group.members.values()],
            "admin_list": [{"userid": userid} for userid in group.admins],
            "member_version": group.member_version}


@endpoint("externalcontact/groupchat/get")
def groupchat_get(call: Call) -> dict:
    group = call.world.group(call.text("chat_id", required=True))
    return {"group_chat": group_json(call.world, group, call.integer("need_name", 0, low=0, high=1) == 1)}


def _transfer_groups(call: Call, *, resigned: bool) -> dict:
    world = call.world
    chat_ids = call.items("chat_id_list", required=True, max_items=100)
    new_owner = world.member(call.text("new_owner", required=True, missing=41009))
    failed = []
    for chat_id in chat_ids:
        group = world.groups.get(chat_id)
        if group is None or group.dismissed:
            failed.append({"chat_id": chat_id, "errcode": 40050, "errmsg": "chatid not found"})
        elif resigned and world.staff[group.owner].active:
            failed.append({"chat_id": chat_id, "errcode": 90500,
                           "errmsg": "the group owner has not resigned"})
        else:
            if new_owner.userid not in group.members:
                world.add_member(group, Member(new_owner.userid, 1, int(world.now()), 1, invitor=group.owner))
            group.owner = new_owner.userid
            group.status = 3 if resigned else 0  # 离职继承完成
    return {"failed_chat_list": failed}


@endpoint("externalcontact/groupchat/transfer")
def groupchat_transfer(call: Call) -> dict:
    return _transfer_groups(call, resigned=True)


@endpoint("externalcontact/groupchat/onjob_transfer")
def groupchat_onjob_transfer(call: Call) -> dict:
    return _transfer_groups(call, resigned=False)
