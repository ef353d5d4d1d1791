"""The simulated corp kept across restarts (sandbox/persistence.py, `python -m sandbox --state-file`)."""
from __future__ import annotations

import json
import time

from sandbox import __main__ as cli
from sandbox import persistence
from sandbox.world import World, WorldConfig
from tests.sandbox.conftest import caller_for


def comparable(world: World) -> dict:
    data = persistence.snapshot(world)
    data.pop("saved_at")
    return json.loads(json.dumps(data))  # tuples and lists alike


def test_the_world_survives_a_save_and_load_round_trip(sim, world, clock, tmp_path):
    first, second = [s for s in world.staff.values() if s.has_contact][:2]
    way = sim.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "state": "kept", "user": [first.userid]})
    added = sim.action("add_customer", config_id=way["config_id"], name="留下的客户")
    customer = added["external_userid"]
    tag_id = sim.action("create_corp_tag", group_name="持久化", tag_name="记得我")["tag_id"]
    assert sim.post("externalcontact/mark_tag", {"userid": first.userid, "external_userid": customer,
                                                 "add_tag": [tag_id]})["errcode"] == 0
    group = sim.action("create_group", owner=first.userid, name="老客户群", member_ids=[customer])["chat_id"]
    sent = sim.post("externalcontact/add_msg_template", {"chat_type": "single", "sender": first.userid,
                                                         "external_userid": [customer], "text": {"content": "hi"}})
    world.confirm_mass_send(sent["msgid"], first.userid)
    assert sim.post("externalcontact/transfer_customer", {"handover_userid": first.userid,
                                                          "takeover_userid": second.userid,
                                                          "external_userid": [customer]})["errcode"] == 0
    code = sim.post("externalcontact/groupchat/add_join_way", {"scene": 2, "chat_id_list": [group], "state": "kept",
                                                              "room_base_name": "老客户群"})
    token = sim.token
    path = tmp_path / "world.json"

    persistence.save(world, path, {"staff": 8})
    restored = World(WorldConfig(groupmsg_dispatch=0), now=clock)
    assert persistence.load(restored, path) == {"staff": 8}

    assert comparable(restored) == comparable(world)
    again = caller_for(restored)
    again.token = token  # the service's cached access token still works after a restart
    reply = again.get("externalcontact/get", external_userid=customer)
    assert reply["errcode"] == 0 and reply["external_contact"]["name"] == "留下的客户"
    assert [t["tag_id"] for t in reply["follow_user"][0]["tags"]] == [tag_id]
    assert again.post("externalcontact/groupchat/get", {"chat_id": group})["group_chat"]["name"] == "老客户群"
    assert restored.transfers[(first.userid, customer)].status == 2
    assert restored.mass_sends[sent["msgid"]].tasks[first.userid].status == 2
    # a group code survives (customers scanning it after a restart of `make run` still join)
    assert again.post("externalcontact/groupchat/get_join_way",
                      {"config_id": code["config_id"]})["join_way"]["chat_id_list"] == [group]
    # The id generator goes on where it was: the next ids are the ones the old world would draw.
    assert (restored.new_id("wm", 32), restored.next_seq()) == (world.new_id("wm", 32), world.next_seq())


def args(tmp_path, *extra: str):
    return cli.parse_args(["--staff", "4", "--customers", "30", "--groups", "2",
                           "--state-file", str(tmp_path / "world.json"), *extra])


def test_a_restart_restores_the_world_from_the_state_file(tmp_path):
    world, how, _ = cli.build_world(args(tmp_path))
    assert how.startswith("seeded") and (tmp_path / "world.json").exists()
    staff = next(s for s in world.staff.values() if s.has_contact)
    caller = caller_for(world)
    added = caller.action("add_customer", userid=staff.userid, name="重启之后")
    persistence.save(world, tmp_path / "world.json", {"staff": 4, "customers": 30, "groups": 2, "seed": 42})

    again, how, _ = cli.build_world(args(tmp_path))
    assert how == f"restored from {tmp_path / 'world.json'}"
    assert again.customers[added["external_userid"]].name == "重启之后"
    assert len(again.customers) == 31

    _, how, _ = cli.build_world(args(tmp_path, "--customers", "50"))  # other sizes: the kept world wins
    assert how.startswith("restored") and "apply to a new world only" in how


def test_an_unreadable_state_file_is_moved_aside_and_a_new_world_seeded(tmp_path):
    (tmp_path / "world.json").write_text("{not json", encoding="utf-8")
    world, how, _ = cli.build_world(args(tmp_path))
    assert len(world.customers) == 30 and "unreadable" in how
    assert (tmp_path / "world.json.unreadable").read_text(encoding="utf-8") == "{not json"
    assert json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))["format"] == persistence.FORMAT


def test_the_autosaver_saves_after_a_change_and_on_stop(world, tmp_path):
    path = tmp_path / "world.json"
    saver = persistence.Autosaver(world, path, {}, every=0.05).start()
    staff = next(s for s in world.staff.values() if s.has_contact)
    caller_for(world).action("add_customer", userid=staff.userid, name="自动保存")
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "自动保存" in path.read_text(encoding="utf-8")
    world.customers[next(iter(world.customers))].name = "最后一刻"  # no feed entry: only stop() saves it
    saver.stop()
    assert "最后一刻" in path.read_text(encoding="utf-8")


def test_the_readme_examples_ids_exist_in_the_seeded_corp():
    world = World().seed(staff=3, customers=10, groups=1)
    assert world.staff["zhangsan"].name == "张三" and world.staff["zhangsan"].has_contact
    assert world.tags["etEXPO"].name == "展会"
