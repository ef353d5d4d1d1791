"""The simulator's join ways (群活码) and the action 「客户扫群活码入群」: groups fill up to a
capacity, then WeCom's auto-created room (create callback, then add_member with JoinScene 3, the
member's state in groupchat/get); group welcome templates' limit of 100 (41055)."""
from __future__ import annotations

from sandbox.callbacks import parse_xml


def two_groups(world) -> list[str]:
    return [g.chat_id for g in list(world.groups.values())[:2]]


def add_way(sim, chat_ids, **body) -> str:
    reply = sim.post("externalcontact/groupchat/add_join_way", {
        "scene": 2, "chat_id_list": chat_ids, "auto_create_room": 1, "room_base_name": "福利群",
        "room_base_id": 7, "state": "gc_sandbox", **body})
    assert reply["errcode"] == 0, reply
    return reply["config_id"]


def test_join_way_crud_and_the_qr_code_served_by_the_simulator(sim, world):
    chat_ids = two_groups(world)
    config_id = add_way(sim, chat_ids, remark="展会")
    way = sim.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    assert (way["chat_id_list"], way["state"], way["remark"], way["room_base_id"]) == (
        chat_ids, "gc_sandbox", "展会", 7)
    image = sim.client.get(way["qr_code"].replace("http://localhost", ""))
    assert image.status_code == 200 and image.mimetype == "image/svg+xml" and "gc_sandbox" in image.text
    assert sim.post("externalcontact/groupchat/update_join_way",
                    {"config_id": config_id, "chat_id_list": chat_ids[:1]})["errcode"] == 0
    assert sim.post("externalcontact/groupchat/get_join_way",
                    {"config_id": config_id})["join_way"]["chat_id_list"] == chat_ids[:1]
    assert sim.post("externalcontact/groupchat/del_join_way", {"config_id": config_id})["errcode"] == 0
    assert sim.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["errcode"] == 40058


def test_join_ways_refuse_bad_input(sim, world):
    chat_ids = two_groups(world)
    post = lambda body: sim.post("externalcontact/groupchat/add_join_way", body)["errcode"]  # noqa: E731
    assert post({"scene": 2, "chat_id_list": ["wrNOPE"], "room_base_name": "x"}) == 40050
    assert post({"scene": 2, "chat_id_list": chat_ids * 3, "room_base_name": "x"}) == 40058  # > 5
    assert post({"scene": 2, "chat_id_list": chat_ids, "state": "x" * 31, "room_base_name": "x"}) == 40058
    assert post({"scene": 2, "chat_id_list": chat_ids, "auto_create_room": 1}) == 40058


def test_a_customer_fills_the_groups_then_a_room_is_created(sim, world):
    chat_ids = two_groups(world)
    config_id = add_way(sim, chat_ids)
    capacity = max(len(world.groups[c].members) for c in chat_ids) + 1
    room_left = sum(capacity - len(world.groups[c].members) for c in chat_ids)
    seen = [sim.action("join_by_group_code", config_id=config_id, capacity=capacity) for _ in range(room_left + 1)]
    assert [r["chat_id"] for r in seen[:room_left]] == sorted(
        [r["chat_id"] for r in seen[:room_left]], key=chat_ids.index)  # in the code's order
    assert all(r["created_room"] is None for r in seen[:room_left])
    created = seen[-1]
    assert created["created_room"] == created["chat_id"]
    room = world.groups[created["created_room"]]
    assert room.name == "福利群7" and room.owner == world.groups[chat_ids[-1]].owner
    assert [c["change_type"] for c in created["callbacks"]] == ["create", "update"]
    way = sim.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    assert way["chat_id_list"] == [*chat_ids, room.chat_id] and way["room_base_id"] == 8
    detail = sim.post("externalcontact/groupchat/get", {"chat_id": room.chat_id})["group_chat"]
    joined = [m for m in detail["member_list"] if m["type"] == 2]
    assert joined and all(m["state"] == "gc_sandbox" and m["join_scene"] == 3 for m in joined)
    add_member = parse_xml([e for e in world.feed.since(0, 10000, kind="callback")][-1]["plaintext"])
    assert (add_member["UpdateDetail"], add_member["JoinScene"]) == ("add_member", "3")


def test_full_groups_without_auto_create_are_refused_in_chinese(sim, world):
    config_id = add_way(sim, two_groups(world)[:1], auto_create_room=0)
    resp = sim.client.post("/sandbox/api/actions/join_by_group_code", json={"config_id": config_id, "capacity": 2})
    assert resp.status_code == 422 and "已满" in resp.get_json()["errors"]["config_id"]
    listed = sim.client.get("/sandbox/api/world/join-ways").get_json()["join_ways"]
    assert [w["config_id"] for w in listed] == [config_id]


def test_group_welcome_templates_stop_at_100(sim, world):
    for n in range(100):
        assert sim.post("externalcontact/group_welcome_template/add", {"text": {"content": f"欢迎{n}"}})["errcode"] == 0
    assert sim.post("externalcontact/group_welcome_template/add", {"text": {"content": "多一个"}})["errcode"] == 41055
