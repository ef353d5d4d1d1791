"""Statistics (docs/wecom/api.md#statistics). The sandbox has no chat history, so chat/message numbers are
plausible values derived deterministically from (who, day); counts of groups and members come
from the world."""
from __future__ import annotations

import random

from sandbox.endpoints.base import Call, endpoint
from sandbox.endpoints.groups import owner_filter
from sandbox.errors import invalid
from sandbox.model import GroupChat

DAY = 86400
CST = 8 * 3600
MAX_SPAN_DAYS = 30


def _day_start(ts: int) -> int:
    """00:00 China Standard Time of the day holding ``ts`` (WeCom floors timestamps so)."""
    return ts - (ts + CST) % DAY


HISTORY_DAYS = 180


def _group_days(call: Call) -> list[int]:
    """The days of a groupchat statistics query: yesterday (China Standard Time) at the latest,
    within the last 180 days (docs/wecom/api.md#group-statistics)."""
    days = _days(call, "day_begin_time", "day_end_time")
    today = _day_start(int(call.world.now()))
    if days[-1] >= today:
        raise invalid("day values must be yesterday or earlier")
    if days[0] < today - HISTORY_DAYS * DAY:
        raise invalid(f"only the last {HISTORY_DAYS} days")
    return days


def _days(call: Call, begin_name: str, end_name: str) -> list[int]:
    begin = call.integer(begin_name, required=True, low=0)
    end = call.integer(end_name, begin, low=0)
    first, last = _day_start(begin), _day_start(end)
    if last < first:
        raise invalid(f"{end_name} is before {begin_name}")
    if (last - first) // DAY + 1 > MAX_SPAN_DAYS:
        raise invalid(f"the span must not exceed {MAX_SPAN_DAYS} days")
    return list(range(first, last + 1, DAY))


def _behaviour(userid: str, day: int) -> dict:
    rng = random.Random(f"{userid}:{day}")
    chats = rng.randrange(0, 30)
    apply = rng.randrange(0, 6)
    return {"new_apply_cnt": apply, "new_contact_cnt": rng.randrange(0, apply + 1), "chat_cnt": chats,
            "message_cnt": chats * rng.randrange(1, 6), "reply_percentage": round(rng.uniform(60, 100), 2),
            "avg_reply_time": rng.randrange(1, 60), "negative_feedback_cnt": int(rng.random() < 0.1)}


@endpoint("externalcontact/get_user_behavior_data")
def get_user_behavior_data(call: Call) -> dict:
    world = call.world
    userids = [str(u) for u in call.items("userid", max_items=100) or []]
    parties = call.items("partyid", max_items=100) or []
    if not userids and not parties:
        raise invalid("userid and partyid are both empty")
    for staff in world.staff.values():
        if set(staff.department) & set(parties):
            userids.append(staff.userid)
    for userid in userids:
        world.member(userid)
    rows = []
    for day in _days(call, "start_time", "end_time"):
        # Several members are aggregated into one series (the doc says so).
        per_user = [_behaviour(userid, day) for userid in dict.fromkeys(userids)]
        total = {key: sum(row[key] for row in per_user) for key in per_user[0]}
        total["reply_percentage"] = round(total["reply_percentage"] / len(per_user), 2)
        total["avg_reply_time"] = total["avg_reply_time"] // len(per_user)
        rows.append({"stat_time": day, **total})
    return {"behavior_data": rows}


def _group_data(groups: list[GroupChat], first: int, last: int) -> dict:
    """One owner's (or one day's) numbers over the groups existing by the end of the span."""
    end = last + DAY
    existing = [g for g in groups if g.create_time < end]
    members = [m for g in existing for m in g.members.values() if m.join_time < end]
    rng = random.Random(f"{len(existing)}:{len(members)}:{first}:{last}")
    active_members = rng.randrange(0, len(members) + 1) // 3
    return {"new_chat_cnt": sum(1 for g in existing if g.create_time >= first),
            "chat_total": len(existing),
            "chat_has_msg": rng.randrange(0, len(existing) + 1),
            "new_member_cnt": sum(1 for m in members if m.join_time >= first),
            "member_total": len(members),
            "member_has_msg": active_members,
            "msg_total": active_members * rng.randrange(1, 8),
            "migrate_trainee_chat_cnt": 0}


def _owned(call: Call) -> dict[str, list[GroupChat]]:
    owners = owner_filter(call)
    by_owner: dict[str, list[GroupChat]] = {}
    for group in call.world.groups.values():
        if not group.dismissed and (owners is None or group.owner in owners):
            by_owner.setdefault(group.owner, []).append(group)
    return by_owner


@endpoint("externalcontact/groupchat/statistic")
def groupchat_statistic(call: Call) -> dict:
    days = _group_days(call)
    order_by = call.integer("order_by", 1, low=1, high=4)
    ascending = call.integer("order_asc", 0, low=0, high=1) == 1
    offset = call.integer("offset", 0, low=0) or 0
    limit = call.integer("limit", 500, low=1, high=1000) or 500
    key = ("new_chat_cnt", "chat_total", "new_member_cnt", "member_total")[order_by - 1]
    items = [{"owner": owner, "data": _group_data(groups, days[0], days[-1])}
             for owner, groups in _owned(call).items()]
    items.sort(key=lambda item: item["data"][key], reverse=not ascending)
    page = items[offset:offset + limit]
    return {"total": len(items), "next_offset": offset + len(page), "items": page}


@endpoint("externalcontact/groupchat/statistic_group_by_day")
def statistic_group_by_day(call: Call) -> dict:
    days = _group_days(call)
    groups = [g for owned in _owned(call).values() for g in owned]
    return {"items": [{"stat_time": day, "data": _group_data(groups, day, day)} for day in days]}
