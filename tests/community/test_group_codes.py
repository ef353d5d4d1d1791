"""Group codes (群活码) through the Open API: add_join_way then get_join_way for the QR code,
update_join_way, del_join_way; refusals leave nothing behind; a room WeCom auto-creates is picked
up from its first group event."""
from __future__ import annotations

import responses
from sqlalchemy import select

from jobs.community import recheck_group_code
from scrm.extensions import db
from scrm.models import GroupCode, GroupCodeChat
from scrm.queueing import get_queue
from tests.api.factories import OTHER_CORP_ID, gen_group
from tests.community.support import (
    ADD_WAY,
    DEL_WAY,
    GET_WAY,
    GROUP_GET,
    OK,
    UPDATE_WAY,
    bodies,
    join_way_reply,
    url,
)
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, run_jobs


def groups(n: int = 2, owner: str = "zhangsan") -> list[str]:
    return [gen_group(owner=owner).chat_id for _ in range(n)]


def create(api, wecom, chat_ids: list[str], **body):
    wecom.add(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG1"})
    wecom.add(responses.POST, url(GET_WAY), json=join_way_reply("CFG1", chat_ids, state=body.get("state", "gc1")))
    return api("POST", "/group-codes", json={"name": "福利群活码", "chat_ids": chat_ids,
                                             "room_base_name": "福利群", "room_base_id": 3, **body})


def test_create_adds_the_join_way_and_reads_its_qr_code(app, wecom, api):
    chat_ids = groups()
    reply = create(api, wecom, chat_ids, state="expo_2024", remark="展会")
    assert reply.status_code == 201, reply.json
    assert bodies(wecom, ADD_WAY) == [{"scene": 2, "remark": "展会", "auto_create_room": 1, "room_base_name": "福利群",
                                       "room_base_id": 3, "chat_id_list": chat_ids, "state": "expo_2024"}]
    assert bodies(wecom, GET_WAY) == [{"config_id": "CFG1"}]
    assert (reply.json["config_id"], reply.json["qr_code"], reply.json["state"]) == (
        "CFG1", "https://wework.qpic.cn/wwpic/CFG1/0", "expo_2024")
    assert reply.json["chats"] == [{"chat_id": c, "source": "operator"} for c in chat_ids]
    assert [c["id"] for c in api("GET", "/group-codes").json] == [reply.json["id"]]
    assert api("GET", f"/group-codes/{reply.json['id']}").json["name"] == "福利群活码"


def test_a_state_is_generated_when_none_is_given(app, wecom, api):
    reply = create(api, wecom, groups(1))
    state = bodies(wecom, ADD_WAY)[0]["state"]
    assert reply.json["state"] == state and state.startswith("gc") and len(state) <= 30


def test_invalid_codes_are_422_before_wecom_is_called(app, wecom, api):
    mine = groups(1)
    theirs = gen_group(OTHER_CORP_ID).chat_id
    dismissed = gen_group(status="dismissed").chat_id
    create(api, wecom, mine, state="taken")
    cases = [
        ({"chat_ids": []}, "chat_ids"),
        ({"chat_ids": groups(6)}, "chat_ids"),
        ({"chat_ids": [theirs]}, "chat_ids"),
        ({"chat_ids": [dismissed]}, "chat_ids"),
        ({"chat_ids": mine, "state": "x" * 31}, "state"),
        ({"chat_ids": mine, "state": "taken"}, "state"),
        ({"chat_ids": mine, "room_base_name": None}, "room_base_name"),
        ({"chat_ids": mine, "scene": 3}, "scene"),
        ({"chat_ids": mine, "remark": "长" * 31}, "remark"),
    ]
    for body, field in cases:
        reply = api("POST", "/group-codes", json={"name": "x", "room_base_name": "群", **body})
        assert reply.status_code == 422, (body, reply.json)
        assert field in reply.json["errors"]["json"], (body, reply.json)
    assert len(bodies(wecom, ADD_WAY)) == 1


def test_a_busy_wecom_is_503_and_a_failed_qr_read_deletes_the_join_way(app, wecom, api):
    chat_ids = groups(1)
    wecom.add(responses.POST, url(ADD_WAY), json={"errcode": -1, "errmsg": "system busy"})
    busy = api("POST", "/group-codes", json={"name": "x", "chat_ids": chat_ids, "room_base_name": "群"})
    assert busy.status_code == 503 and "-1" in busy.json["message"]
    wecom.replace(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG2"})
    wecom.add(responses.POST, url(GET_WAY), json={"errcode": 48002, "errmsg": "api forbidden"})
    wecom.add(responses.POST, url(DEL_WAY), json=OK)
    refused = api("POST", "/group-codes", json={"name": "x", "chat_ids": chat_ids, "room_base_name": "群"})
    assert refused.status_code == 502 and "48002" in refused.json["message"]
    assert bodies(wecom, DEL_WAY) == [{"config_id": "CFG2"}]
    assert db.session.scalars(select(GroupCode)).all() == []


def test_update_and_delete_go_to_wecom(app, wecom, api):
    first, second, third = groups(3)
    code = create(api, wecom, [first, second], state="s1").json
    wecom.add(responses.POST, url(UPDATE_WAY), json=OK)
    wecom.add(responses.POST, url(DEL_WAY), json=OK)
    assert api("PATCH", f"/group-codes/{code['id']}", json={"name": "改名"}).json["name"] == "改名"
    assert bodies(wecom, UPDATE_WAY) == []
    changed = api("PATCH", f"/group-codes/{code['id']}", json={"chat_ids": [second, third], "remark": "新"})
    assert changed.status_code == 200, changed.json
    assert [c["chat_id"] for c in changed.json["chats"]] == [second, third]
    assert bodies(wecom, UPDATE_WAY) == [{"config_id": "CFG1", "scene": 2, "remark": "新", "auto_create_room": 1,
                                          "room_base_name": "福利群", "room_base_id": 3,
                                          "chat_id_list": [second, third], "state": "s1"}]
    assert api("PATCH", f"/group-codes/{code['id']}", json={"state": "other"}).status_code == 422
    assert api("DELETE", f"/group-codes/{code['id']}").status_code == 204
    assert bodies(wecom, DEL_WAY) == [{"config_id": "CFG1"}]
    assert api("GET", f"/group-codes/{code['id']}").json["status"] == "deleted"
    assert api("GET", "/group-codes").json == []
    assert api("PATCH", f"/group-codes/{code['id']}", json={"name": "x"}).status_code == 422


def test_a_refused_update_keeps_our_copy(app, wecom, api):
    first, second = groups(2)
    code = create(api, wecom, [first]).json
    wecom.add(responses.POST, url(UPDATE_WAY), json={"errcode": 40050, "errmsg": "chatid not found"})
    reply = api("PATCH", f"/group-codes/{code['id']}", json={"chat_ids": [second], "remark": "新"})
    assert reply.status_code == 502 and "40050" in reply.json["message"]
    after = api("GET", f"/group-codes/{code['id']}").json
    assert (after["remark"], [c["chat_id"] for c in after["chats"]]) == (None, [first])


def chat_reply(chat_id: str, owner: str = "zhangsan", members: list[dict] | None = None) -> dict:
    return {**OK, "group_chat": {"chat_id": chat_id, "name": "福利群3", "owner": owner, "create_time": 1700000000,
                                 "notice": "", "member_list": members or [
                                     {"userid": owner, "type": 1, "join_time": 1700000000, "join_scene": 1}],
                                 "admin_list": [], "member_version": "v1"}}


def test_a_room_wecom_auto_creates_is_added_to_the_code(app, client, wecom, api):
    chat_ids = groups(2)
    code = create(api, wecom, chat_ids, state="gc1").json
    wecom.add(responses.POST, url(GROUP_GET), json=chat_reply("wrAUTO3"))
    wecom.replace(responses.POST, url(GET_WAY), json=join_way_reply("CFG1", [*chat_ids, "wrAUTO3"], room_base_id=4))
    post_callback(client, event_xml("change_external_chat", "create", ChatId="wrAUTO3"))
    assert run_jobs(app) == 1
    assert api("GET", f"/group-codes/{code['id']}").json["chats"] == [
        *({"chat_id": c, "source": "operator"} for c in chat_ids), {"chat_id": "wrAUTO3", "source": "auto_created"}]
    # Its member event (a member with the code's state) finds the room listed: no further read.
    member = {"userid": "wmJOIN1", "type": 2, "join_time": 1700000100, "join_scene": 3, "state": "gc1"}
    wecom.replace(responses.POST, url(GROUP_GET), json={**chat_reply("wrAUTO3"), "group_chat": {
        **chat_reply("wrAUTO3")["group_chat"], "member_list": [member], "member_version": "v2"}})
    post_callback(client, event_xml("change_external_chat", "update", ChatId="wrAUTO3", UpdateDetail="add_member",
                                    JoinScene="3", CurMemVer="v2"))
    run_jobs(app)
    assert len(bodies(wecom, GET_WAY)) == 2  # the create's read (and the one at creation)


def test_a_new_group_of_another_owner_or_a_listed_one_reads_no_join_way(app, client, wecom, api):
    chat_ids = groups(1)
    create(api, wecom, chat_ids)
    wecom.add(responses.POST, url(GROUP_GET), json=chat_reply("wrOTHER", owner="lisi"))
    post_callback(client, event_xml("change_external_chat", "create", ChatId="wrOTHER"))
    run_jobs(app)
    assert len(bodies(wecom, GET_WAY)) == 1
    assert db.session.scalars(select(GroupCodeChat.chat_id).where(GroupCodeChat.chat_id == "wrOTHER")).all() == []


def test_a_member_with_the_codes_state_triggers_a_reread_at_most_once_a_minute(app, client, wecom, api):
    chat_ids = groups(1)
    code_id = create(api, wecom, chat_ids, state="gc1").json["id"]
    member = {"userid": "wmJOIN1", "type": 2, "join_time": 1700000100, "join_scene": 3, "state": "gc1"}
    wecom.replace(responses.POST, url(GET_WAY), json=join_way_reply("CFG1", chat_ids))  # not (yet) listed there
    for n, chat_id in enumerate(("wrX1", "wrX2")):
        wecom.add(responses.POST, url(GROUP_GET), json=chat_reply(chat_id, owner="lisi", members=[member]))
        post_callback(client, event_xml("change_external_chat", "update", ChatId=chat_id, UpdateDetail="add_member",
                                        JoinScene="3", create_time=1700000000 + n))
        run_jobs(app)
    assert len(bodies(wecom, GET_WAY)) == 2  # creation + one re-read; the second event was within the minute
    # ... so a re-read is scheduled for when the minute is over, once per code.
    scheduled = get_queue("periodic").scheduled_job_registry.get_job_ids()
    assert scheduled == [f"group-code-recheck-{TEST_CORP_ID}-{code_id}"]
    wecom.replace(responses.POST, url(GET_WAY), json=join_way_reply("CFG1", [*chat_ids, "wrX2"]))
    assert recheck_group_code(TEST_CORP_ID, code_id) == 1
    listed = db.session.scalars(select(GroupCodeChat.chat_id).where(GroupCodeChat.source == "auto_created")).all()
    assert listed == ["wrX2"]
