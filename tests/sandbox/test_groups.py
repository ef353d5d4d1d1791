"""Customer group APIs and the group actions' member versions."""
from __future__ import annotations

from scrm.wecom.crypto import parse_xml
from tests.sandbox.conftest import caller_for, make_world


def all_chat_ids(sim, body: dict) -> list[str]:
    seen, cursor = [], ""
    while True:
        reply = sim.post("externalcontact/groupchat/list", {**body, "cursor": cursor})
        assert reply["errcode"] == 0, reply
        assert len(reply["group_chat_list"]) <= body["limit"]
        seen += [g["chat_id"] for g in reply["group_chat_list"]]
        cursor = reply["next_cursor"]
        if not cursor:
            return seen


def test_groupchat_list_pages_cover_every_group_once(clock):
    world = make_world(clock, groups=30)
    sim = caller_for(world)
    chat_ids = all_chat_ids(sim, {"status_filter": 0, "limit": 7})
    assert chat_ids == list(world.groups)
    owner = next(iter(world.groups.values())).owner
    owned = all_chat_ids(sim, {"limit": 3, "owner_filter": {"userid_list": [owner]}})
    assert owned == [g.chat_id for g in world.groups.values() if g.owner == owner]


def test_groupchat_list_needs_a_limit_and_an_owner_filter_in_big_corps(clock):
    world = make_world(clock, visible_staff_limit=5)  # 8 staff visible
    sim = caller_for(world)
    assert sim.post("externalcontact/groupchat/list", {"limit": 10})["errcode"] == 81017
    assert sim.post("externalcontact/groupchat/list",
                    {"limit": 10, "owner_filter": {"userid_list": list(world.staff)}})["errcode"] == 0
    assert sim.post("externalcontact/groupchat/list",
                    {"owner_filter": {"userid_list": list(world.staff)}})["errcode"] == 40058


def test_groupchat_get_shape(sim, world):
    group = next(g for g in world.groups.values() if g.admins)
    reply = sim.post("externalcontact/groupchat/get",
                     {"chat_id": group.chat_id, "need_name": 1})["group_chat"]
    assert reply["owner"] == group.owner and reply["member_version"] == group.member_version
    assert reply["admin_list"] == [{"userid": u} for u in group.admins]
    customer = next(m for m in reply["member_list"] if m["type"] == 2)
    assert customer["name"] == world.customers[customer["userid"]].name
    assert customer["join_scene"] in (1, 2, 3)
    no_names = sim.post("externalcontact/groupchat/get", {"chat_id": group.chat_id})["group_chat"]
    assert all("name" not in m for m in no_names["member_list"])
    assert sim.post("externalcontact/groupchat/get", {"chat_id": "wrnope"})["errcode"] == 40050


def test_join_and_leave_change_the_member_version_the_callback_announces(sim, world):
    group = next(iter(world.groups.values()))
    outsider = next(ext for ext in world.customers if ext not in group.members)
    before = sim.post("externalcontact/groupchat/get",
                      {"chat_id": group.chat_id})["group_chat"]["member_version"]

    joined = sim.action("join_group", chat_id=group.chat_id, member_ids=[outsider], scene="qrcode")
    (entry,) = world.feed.since(0, 1000, kind="callback")
    fields = parse_xml(entry["plaintext"])
    assert (fields["Event"], fields["ChangeType"]) == ("change_external_chat", "update")
    assert (fields["UpdateDetail"], fields["JoinScene"]) == ("add_member", "3")
    assert (fields["MemChangeCnt"], fields["MemChangeList"]) == ("1", {"Item": outsider})
    assert fields["LastMemVer"] == before and fields["CurMemVer"] == joined["member_version"] != before
    after = sim.post("externalcontact/groupchat/get", {"chat_id": group.chat_id})["group_chat"]
    assert after["member_version"] == fields["CurMemVer"]
    member = next(m for m in after["member_list"] if m["userid"] == outsider)
    assert member["join_scene"] == 3 and "invitor" not in member

    left = sim.action("leave_group", chat_id=group.chat_id, member_ids=[outsider], removed=True)
    fields = parse_xml(world.feed.since(0, 1000, kind="callback")[-1]["plaintext"])
    assert (fields["UpdateDetail"], fields["QuitScene"]) == ("del_member", "1")
    assert fields["LastMemVer"] == joined["member_version"]
    assert fields["CurMemVer"] == left["member_version"]
    assert "JoinScene" not in fields


def test_create_rename_dismiss(sim, world):
    owner = next(s for s in world.staff.values() if s.has_contact)
    customers = list(owner.relations)[:2]
    created = sim.action("create_group", owner=owner.userid, name="新品体验群", member_ids=customers)
    chat_id = created["chat_id"]
    assert chat_id.startswith("wr") and created["members"] == 3
    sim.action("rename_group", chat_id=chat_id, name="新品体验群2")
    assert sim.post("externalcontact/groupchat/get", {"chat_id": chat_id})["group_chat"]["name"] == "新品体验群2"
    sim.action("dismiss_group", chat_id=chat_id)
    assert sim.post("externalcontact/groupchat/get", {"chat_id": chat_id})["errcode"] == 40050
    kinds = [(e["event"], e["change_type"]) for e in world.feed.since(0, 1000, kind="callback")]
    assert kinds == [("change_external_chat", "create"), ("change_external_chat", "update"),
                     ("change_external_chat", "dismiss")]


def test_statistics_are_plausible(sim, world):
    owner = next(iter(world.groups.values())).owner
    day = 1_759_852_800  # 2025-10-08 00:00 +08:00: yesterday (group statistics end there)
    owner_filter = {"owner_filter": {"userid_list": [owner]}}
    reply = sim.post("externalcontact/groupchat/statistic",
                     {"day_begin_time": day - 86400 * 6, "day_end_time": day, **owner_filter})
    assert reply["errcode"] == 0 and reply["total"] == 1
    data = reply["items"][0]["data"]
    assert data["chat_total"] == sum(1 for g in world.groups.values() if g.owner == owner)
    assert data["member_total"] >= data["chat_total"]
    by_day = sim.post("externalcontact/groupchat/statistic_group_by_day",
                      {"day_begin_time": day - 86400 * 2, "day_end_time": day, **owner_filter})
    assert [i["stat_time"] for i in by_day["items"]] == [day - 86400 * 2, day - 86400, day]
    behaviour = sim.post("externalcontact/get_user_behavior_data",
                         {"userid": [owner], "start_time": day - 86400, "end_time": day})
    assert [row["stat_time"] for row in behaviour["behavior_data"]] == [day - 86400, day]
    assert sim.post("externalcontact/get_user_behavior_data",
                    {"userid": [owner], "start_time": day - 86400 * 40, "end_time": day})["errcode"] == 40058
