"""The simulator's churn play: 1:1 messages in the chat archive (customer_replies,
staff_messages_customer) announced by msgaudit_notify, 时间快进 (advance_time) moving every time
the simulator puts out and announced by the sandbox_clock callback, and both kept across restarts."""
from __future__ import annotations

from sandbox import persistence
from sandbox.world import World, WorldConfig
from scrm.wecom.crypto import parse_xml
from tests.sandbox.conftest import T0


def callbacks_sent(world) -> list[dict]:
    return [parse_xml(e["plaintext"]) for e in world.feed.since(0, 10000, kind="callback")]


def a_relation(world):
    staff = next(s for s in world.staff.values() if s.has_contact and s.relations)
    return staff.userid, next(iter(staff.relations))


def test_a_customer_reply_is_archived_as_getchatdata_gives_it_and_announced(sim, world):
    userid, external_userid = a_relation(world)
    reply = sim.action("customer_replies", userid=userid, external_userid=external_userid, text="在的，周末聊")
    sim.action("staff_messages_customer", userid=userid, external_userid=external_userid, text="好的")

    data = sim.client.get("/sandbox/api/chat-archive?seq=0&limit=100").get_json()
    assert data["errcode"] == 0
    first, second = data["chatdata"]
    assert first == {"seq": 1, "msgid": reply["msgid"], "action": "send", "from": external_userid,
                     "tolist": [userid], "roomid": "", "msgtime": int(T0 * 1000), "msgtype": "text",
                     "text": {"content": "在的，周末聊"}}
    assert (second["seq"], second["from"], second["tolist"]) == (2, userid, [external_userid])
    after_first = sim.client.get("/sandbox/api/chat-archive?seq=1").get_json()["chatdata"]
    assert [m["seq"] for m in after_first] == [2]
    assert sim.client.get("/sandbox/api/chat-archive?seq=2").get_json()["chatdata"] == []
    notices = callbacks_sent(world)
    assert [n["Event"] for n in notices] == ["msgaudit_notify", "msgaudit_notify"]
    # Same second, yet two plaintexts (the service deduplicates identical ones).
    assert int(notices[1]["CreateTime"]) > int(notices[0]["CreateTime"]) and "Content" not in notices[0]


def test_messages_need_a_friend_relation_and_text(sim, world):
    userid, external_userid = a_relation(world)
    stranger = next(ext for ext in world.customers if ext not in world.staff[userid].relations)
    resp = sim.client.post("/sandbox/api/actions/customer_replies",
                           json={"userid": userid, "external_userid": stranger, "text": "你好"})
    assert resp.status_code == 422 and "external_userid" in resp.get_json()["errors"]
    resp = sim.client.post("/sandbox/api/actions/staff_messages_customer",
                           json={"userid": userid, "external_userid": external_userid, "text": "  "})
    assert resp.status_code == 422 and "text" in resp.get_json()["errors"]
    sim.action("customer_deletes_staff", userid=userid, external_userid=external_userid)
    resp = sim.client.post("/sandbox/api/actions/customer_replies",
                           json={"userid": userid, "external_userid": external_userid, "text": "还在吗"})
    assert resp.status_code == 422
    assert sim.client.get("/sandbox/api/chat-archive?limit=0").status_code == 400
    assert sim.client.get("/sandbox/api/chat-archive?seq=x").get_json()["errcode"] == 10000
    assert sim.client.get("/sandbox/api/chat-archive").get_json()["chatdata"] == []


def test_advance_time_moves_the_simulators_clock_and_tells_the_service(sim, world, clock):
    userid, external_userid = a_relation(world)
    sim.fetch_token()
    before = sim.client.get("/sandbox/api/clock").get_json()
    assert (before["now"], before["offset_seconds"]) == (int(T0), 0)

    moved = sim.action("advance_time", days=31)
    assert (moved["offset_days"], moved["now"]) == (31, int(T0) + 31 * 86400)
    assert sim.client.get("/sandbox/api/clock").get_json()["local"] == moved["local"] == "2025-11-09 16:53"
    (announced,) = callbacks_sent(world)
    assert (announced["Event"], announced["OffsetSeconds"], announced["CreateTime"]) == (
        "sandbox_clock", str(31 * 86400), str(int(T0) + 31 * 86400))

    # Everything the simulator puts out is on the new time, and its windows have passed.
    assert sim.get("externalcontact/get", external_userid=external_userid)["errcode"] == 42001
    sim.fetch_token()
    added = sim.action("add_customer", userid=userid)
    follow = sim.get("externalcontact/get", external_userid=added["external_userid"])["follow_user"][0]
    assert follow["createtime"] == int(T0) + 31 * 86400
    sim.action("customer_replies", userid=userid, external_userid=external_userid, text="好久不见")
    (message,) = sim.client.get("/sandbox/api/chat-archive").get_json()["chatdata"]
    assert message["msgtime"] == (int(T0) + 31 * 86400) * 1000

    clock.advance(60)  # the wall clock goes on; the offset stays
    again = sim.action("advance_time", days=0)
    assert (again["offset_seconds"], again["now"]) == (31 * 86400, int(T0) + 31 * 86400 + 60)
    resp = sim.client.post("/sandbox/api/actions/advance_time", json={"days": -1})
    assert resp.status_code == 422 and "days" in resp.get_json()["errors"]
    assert sim.client.post("/sandbox/api/actions/advance_time", json={"days": 366}).status_code == 422


def test_the_offset_and_the_archive_survive_a_restart(sim, world, clock, tmp_path):
    userid, external_userid = a_relation(world)
    sim.action("advance_time", days=10)
    sim.action("customer_replies", userid=userid, external_userid=external_userid, text="收到")
    path = tmp_path / "world.json"
    persistence.save(world, path)

    restored = World(WorldConfig(), now=clock)
    persistence.load(restored, path)
    assert restored.clock_offset == 10 * 86400 and restored.now() == world.now()
    assert restored.chat_archive.after(0, 10) == world.chat_archive.after(0, 10)
    restored.chat_archive.record(external_userid, userid, "再来一条")
    assert [m["seq"] for m in restored.chat_archive.after(0, 10)] == [1, 2]


def test_advancing_a_day_completes_the_transfers_nobody_refused(sim, world):
    handover, takeover = [s for s in world.staff.values() if s.has_contact and s.relations][:2]
    moved, refused = [ext for ext in handover.relations if ext not in takeover.relations][:2]
    started = sim.post("externalcontact/transfer_customer", {
        "handover_userid": handover.userid, "takeover_userid": takeover.userid,
        "external_userid": [moved, refused]})
    assert [c["errcode"] for c in started["customer"]] == [0, 0]
    sim.action("complete_transfers", refuse=True, external_userids=[refused])

    assert sim.action("advance_time", days=0)["transfers_completed"] == []  # not 24 h yet
    result = sim.action("advance_time", days=1)
    assert result["transfers_completed"] == [moved]
    assert [(e["Event"], e.get("ChangeType"), e.get("Source")) for e in callbacks_sent(world)][-3:] == [
        ("sandbox_clock", None, None), ("change_external_contact", "add_external_contact", None),
        ("change_external_contact", "del_external_contact", "DELETE_BY_TRANSFER")]
    sim.fetch_token()  # the old one expired with the day
    statuses = {c["external_userid"]: c["status"] for c in sim.post("externalcontact/transfer_result", {
        "handover_userid": handover.userid, "takeover_userid": takeover.userid})["customer"]}
    assert statuses == {moved: 1, refused: 3}
    assert moved in takeover.relations and moved not in handover.relations
