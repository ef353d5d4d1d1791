"""Mass sends wait for the staff member to confirm; queries follow the task's state."""
from __future__ import annotations

import pytest

from tests.sandbox.conftest import caller_for, make_world


@pytest.fixture
def sender(world):
    return max((s for s in world.staff.values() if s.has_contact), key=lambda s: len(s.relations))


def task(sim, msgid):
    return sim.post("externalcontact/get_groupmsg_task", {"msgid": msgid})


def results(sim, msgid, userid) -> dict[str, tuple[int, bool]]:
    rows, cursor = {}, ""
    while True:
        reply = sim.post("externalcontact/get_groupmsg_send_result",
                         {"msgid": msgid, "userid": userid, "limit": 3, "cursor": cursor})
        rows.update({r["external_userid"]: (r["status"], "send_time" in r) for r in reply["send_list"]})
        cursor = reply["next_cursor"]
        if not cursor:
            return rows


def test_task_waits_for_confirmation_then_reports_send_results(sim, world, sender):
    targets = list(sender.relations)[:4]
    created = sim.post("externalcontact/add_msg_template", {
        "chat_type": "single", "sender": sender.userid, "external_userid": targets + ["wmstranger"],
        "text": {"content": "双十一优惠"}})
    assert created["errcode"] == 0 and created["fail_list"] == ["wmstranger"]
    msgid = created["msgid"]
    assert task(sim, msgid)["task_list"] == [{"userid": sender.userid, "status": 0}]
    assert results(sim, msgid, sender.userid) == {t: (0, False) for t in targets}

    sim.action("staff_deletes_customer", userid=sender.userid, external_userid=targets[0])
    confirm = sim.client.post(f"/sandbox/api/mass-sends/{msgid}/confirm", json={"userid": sender.userid})
    assert confirm.status_code == 200
    assert confirm.get_json()["result"] == {"msgid": msgid, "userid": sender.userid, "sent": 3,
                                            "not_friend": 1, "quota_exceeded": 0}
    (row,) = task(sim, msgid)["task_list"]
    assert row["status"] == 2 and row["send_time"] == int(world.now())
    expected = {targets[0]: (2, False), **{t: (1, True) for t in targets[1:]}}  # (status, has send_time)
    assert results(sim, msgid, sender.userid) == expected
    again = sim.client.post(f"/sandbox/api/mass-sends/{msgid}/confirm", json={"userid": sender.userid})
    assert again.status_code == 409
    unknown = sim.client.post("/sandbox/api/mass-sends/msgnope/confirm", json={"userid": sender.userid})
    assert unknown.status_code == 404
    kinds = [e["kind"] for e in world.feed.since(0, 10000) if e["kind"].startswith("mass_send")]
    assert kinds == ["mass_send_created", "mass_send_confirmed"]


def test_monthly_quota_fails_with_status_3(clock):
    world = make_world(clock, mass_send_monthly_quota=1)
    sim = caller_for(world)
    staff = next(s for s in world.staff.values() if s.relations)
    target = next(iter(staff.relations))
    msgids = [sim.post("externalcontact/add_msg_template",
                       {"sender": staff.userid, "external_userid": [target], "text": {"content": f"第{i}条"}}
                       )["msgid"] for i in (1, 2)]
    for msgid in msgids:
        world.confirm_mass_send(msgid, staff.userid)
    assert [results(sim, m, staff.userid)[target][0] for m in msgids] == [1, 3]


def test_queries_right_after_creation_answer_41063(clock):
    world = make_world(clock, groupmsg_dispatch=2)
    sim = caller_for(world)
    staff = next(s for s in world.staff.values() if s.relations)
    msgid = sim.post("externalcontact/add_msg_template",
                     {"sender": staff.userid, "text": {"content": "hi"}})["msgid"]
    assert task(sim, msgid)["errcode"] == 41063
    clock.advance(2)
    assert task(sim, msgid)["errcode"] == 0


def test_without_sender_each_customer_goes_to_their_latest_follower(sim, world):
    customer = next(c for c in world.customers.values() if len(c.relations) > 1)
    latest = max(customer.relations, key=lambda r: r.createtime).userid
    msgid = sim.post("externalcontact/add_msg_template", {"external_userid": [customer.external_userid],
                                                          "text": {"content": "hi"}})["msgid"]
    assert [t["userid"] for t in task(sim, msgid)["task_list"]] == [latest]


def test_group_mass_send_and_list(sim, world, clock):
    group = next(iter(world.groups.values()))
    created = sim.post("externalcontact/add_msg_template", {"chat_type": "group", "sender": group.owner,
                                                            "chat_id_list": [group.chat_id],
                                                            "text": {"content": "群公告"}})
    assert created["errcode"] == 0 and created["fail_list"] == []
    assert sim.post("externalcontact/add_msg_template", {"chat_type": "group", "text": {"content": "x"}})[
        "errcode"] == 40058
    listed = sim.post("externalcontact/get_groupmsg_list_v2", {
        "chat_type": "group", "start_time": int(clock.now) - 60, "end_time": int(clock.now) + 60})
    assert [m["msgid"] for m in listed["group_msg_list"]] == [created["msgid"]]
    assert listed["group_msg_list"][0]["text"] == {"content": "群公告"}
    world.confirm_mass_send(created["msgid"], group.owner)
    reply = sim.post("externalcontact/get_groupmsg_send_result",
                     {"msgid": created["msgid"], "userid": group.owner})
    assert reply["send_list"][0]["chat_id"] == group.chat_id and reply["send_list"][0]["status"] == 1


def test_nobody_to_send_to_is_41048(sim, world):
    staff = next(s for s in world.staff.values() if s.relations)
    reply = sim.post("externalcontact/add_msg_template",
                     {"sender": staff.userid, "external_userid": ["wmnope"], "text": {"content": "hi"}})
    assert reply["errcode"] == 41048
