"""Group mass sends in the simulator: the owner confirms (action, control API), per-group results
(1 sent, 2 failed, 3 monthly cap), an owner who left, 41063 right after creation; and the group
statistics endpoints computed from the world."""
from __future__ import annotations

import pytest

from tests.sandbox.conftest import caller_for, make_world

DAY = 86400


def owner_with_groups(world, count: int = 2) -> tuple[str, list[str]]:
    by_owner: dict[str, list[str]] = {}
    for group in world.groups.values():
        if not group.dismissed:
            by_owner.setdefault(group.owner, []).append(group.chat_id)
    owner, chats = max(by_owner.items(), key=lambda item: len(item[1]))
    assert len(chats) >= count
    return owner, chats[:count]


def send(sim, owner: str, chats: list[str], text: str = "本周活动") -> str:
    reply = sim.post("externalcontact/add_msg_template", {"chat_type": "group", "sender": owner,
                                                         "chat_id_list": chats, "text": {"content": text}})
    assert reply["errcode"] == 0 and reply["fail_list"] == [], reply
    return reply["msgid"]


def results(sim, msgid: str, userid: str) -> dict[str, int]:
    reply = sim.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": userid})
    assert reply["errcode"] == 0, reply
    return {row["chat_id"]: row["status"] for row in reply["send_list"]}


def task_status(sim, msgid: str) -> dict[str, int]:
    reply = sim.post("externalcontact/get_groupmsg_task", {"msgid": msgid})
    return {t["userid"]: t["status"] for t in reply["task_list"]}


def test_owner_sees_pending_task_and_confirms_as_owner(sim, world):
    owner, chats = owner_with_groups(world)
    msgid = send(sim, owner, chats)
    assert task_status(sim, msgid) == {owner: 0} and results(sim, msgid, owner) == dict.fromkeys(chats, 0)
    listed = sim.client.get("/sandbox/api/group-mass-sends", query_string={"owner": owner}).get_json()
    (pending,) = listed["group_mass_sends"]
    assert pending["msgid"] == msgid and [c["chat_id"] for c in pending["chats"]] == chats
    assert pending["text"] == {"content": "本周活动"}

    result = sim.action("owner_confirms_group_mass_send", userid=owner)
    assert result["confirmed"] == [{"msgid": msgid, "userid": owner, "sent": 2, "not_friend": 0,
                                    "quota_exceeded": 0}]
    assert task_status(sim, msgid) == {owner: 2} and results(sim, msgid, owner) == dict.fromkeys(chats, 1)
    assert sim.client.get("/sandbox/api/group-mass-sends").get_json()["group_mass_sends"] == []
    again = sim.client.post("/sandbox/api/actions/owner_confirms_group_mass_send", json={"userid": owner})
    assert again.status_code == 422 and again.get_json()["errors"] == {"userid": "没有待群主确认的群发"}


def test_monthly_cap_fails_with_status_3_per_group(clock):
    world = make_world(clock, mass_send_monthly_quota=1)
    sim = caller_for(world)
    owner, (first, second) = owner_with_groups(world)
    earlier = send(sim, owner, [first], "第一条")
    sim.action("owner_confirms_group_mass_send", userid=owner, msgid=earlier)
    later = send(sim, owner, [first, second], "第二条")
    result = sim.action("owner_confirms_group_mass_send", userid=owner, msgid=later)
    assert result["confirmed"][0]["quota_exceeded"] == 1
    assert results(sim, later, owner) == {first: 3, second: 1}
    clock.advance(40 * DAY)  # a new month: the cap starts again
    sim.fetch_token()
    third = send(sim, owner, [first], "下个月")
    sim.action("owner_confirms_group_mass_send", userid=owner, msgid=third)
    assert results(sim, third, owner) == {first: 1}


def test_owner_who_left_fails_the_task(sim, world):
    owner, chats = owner_with_groups(world)
    msgid = send(sim, owner, chats)
    sim.action("staff_leaves", userid=owner)
    assert results(sim, msgid, owner) == dict.fromkeys(chats, 2)
    assert task_status(sim, msgid) == {owner: 0}
    refused = sim.client.post("/sandbox/api/actions/owner_confirms_group_mass_send", json={"userid": owner})
    assert refused.status_code == 422 and "已离职" in refused.get_json()["errors"]["userid"]
    control = sim.client.post(f"/sandbox/api/mass-sends/{msgid}/confirm", json={"userid": owner})
    assert control.status_code == 409


def test_group_no_longer_owned_or_dismissed_fails_with_2(sim, world):
    owner, chats = owner_with_groups(world, 2)
    other = next(s.userid for s in world.staff.values() if s.userid != owner and s.active)
    msgid = send(sim, owner, chats)
    world.groups[chats[0]].owner = other  # ownership passed on before the owner confirmed
    result = sim.action("owner_confirms_group_mass_send", userid=owner, msgid=msgid)
    assert result["confirmed"][0]["not_friend"] == 1
    assert results(sim, msgid, owner) == {chats[0]: 2, chats[1]: 1}


def test_queries_right_after_creation_answer_41063(clock):
    world = make_world(clock, groupmsg_dispatch=3)
    sim = caller_for(world)
    owner, chats = owner_with_groups(world)
    msgid = send(sim, owner, chats)
    assert sim.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": owner})["errcode"] == 41063
    clock.advance(3)
    assert results(sim, msgid, owner) == dict.fromkeys(chats, 0)


# ---- statistics --------------------------------------------------------------------------------

def today_cst(world) -> int:
    now = int(world.now())
    return now - (now + 8 * 3600) % DAY


def test_statistics_follow_the_world(sim, world, clock):
    owner, chats = owner_with_groups(world, 1)
    customer = next(c for c in world.customers if c not in world.groups[chats[0]].members)
    sim.action("join_group", chat_id=chats[0], member_ids=[customer], scene="qrcode")
    joined_day = today_cst(world)
    clock.advance(DAY)
    owned = [g for g in world.groups.values() if g.owner == owner and not g.dismissed]
    members = sum(len(g.members) for g in owned)
    body = {"day_begin_time": joined_day, "day_end_time": joined_day, "owner_filter": {"userid_list": [owner]}}
    reply = sim.post("externalcontact/groupchat/statistic", body)
    assert reply["errcode"] == 0 and reply["total"] == 1 and reply["items"][0]["owner"] == owner
    data = reply["items"][0]["data"]
    new = sum(1 for g in owned for m in g.members.values() if joined_day <= m.join_time < joined_day + DAY)
    assert new >= 1 and (data["chat_total"], data["member_total"], data["new_member_cnt"]) == (len(owned), members, new)
    assert data["member_has_msg"] <= data["member_total"] and data["chat_has_msg"] <= data["chat_total"]
    by_day = sim.post("externalcontact/groupchat/statistic_group_by_day",
                      body | {"day_begin_time": joined_day - DAY})
    def joined_on(day: int) -> int:
        return sum(1 for g in owned for m in g.members.values() if day <= m.join_time < day + DAY)

    assert [(i["stat_time"], i["data"]["new_member_cnt"]) for i in by_day["items"]] == [
        (joined_day - DAY, joined_on(joined_day - DAY)), (joined_day, joined_on(joined_day))]
    assert by_day["items"][0]["data"]["member_total"] == members - joined_on(joined_day)


def test_statistic_pages_by_offset(sim, world):
    yesterday = today_cst(world) - DAY
    owners = sorted({g.owner for g in world.groups.values() if not g.dismissed})
    seen, offset = [], 0
    while True:
        reply = sim.post("externalcontact/groupchat/statistic", {
            "day_begin_time": yesterday, "owner_filter": {"userid_list": owners}, "offset": offset, "limit": 2})
        seen += [i["owner"] for i in reply["items"]]
        offset = reply["next_offset"]
        if offset >= reply["total"]:
            break
    assert sorted(seen) == owners and reply["total"] == len(owners)


@pytest.mark.parametrize("begin_days_ago, end_days_ago", [(0, 0), (1, 0), (181, 170), (40, 1)])
def test_statistics_refuse_days_wecom_does_not_answer_for(sim, world, begin_days_ago, end_days_ago):
    today = today_cst(world)
    owner, _ = owner_with_groups(world, 1)
    for path in ("externalcontact/groupchat/statistic", "externalcontact/groupchat/statistic_group_by_day"):
        reply = sim.post(path, {"day_begin_time": today - begin_days_ago * DAY,
                                "day_end_time": today - end_days_ago * DAY, "owner_filter": {"userid_list": [owner]}})
        assert reply["errcode"] == 40058, reply


def test_statistics_owner_filter_at_most_100(sim, world):
    reply = sim.post("externalcontact/groupchat/statistic", {
        "day_begin_time": today_cst(world) - DAY, "owner_filter": {"userid_list": [f"u{i}" for i in range(101)]}})
    assert reply["errcode"] == 40058


def test_the_sandbox_page_offers_the_owner_confirmation(world):
    from sandbox import web
    from sandbox.app import create_simulator_app

    client = create_simulator_app(world, blueprints=[web.bp]).test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'id="group-mass"' in html and "群主确认群发" in html and "/sandbox/static/group_mass.js" in html
    script = client.get("/sandbox/static/group_mass.js").get_data(as_text=True)
    assert "group-mass-sends" in script and "owner_confirms_group_mass_send" in script
    assert "以群主身份确认发送" in script
