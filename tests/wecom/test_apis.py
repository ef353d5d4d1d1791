"""Request bodies/params per docs/wecom/api.md, JS-SDK tickets and signature."""
from __future__ import annotations

import pytest

from scrm.wecom import PermanentWeComError
from tests.helpers import wecom_fixture as fixture

from .conftest import BASE

EXT = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"


def test_get_external_contact_sends_cursor_only_when_given(client, fake):
    fake.on("GET", "externalcontact/get")
    assert client.get_external_contact(EXT, cursor="NEXT") == fixture("externalcontact/get")
    (request,) = fake.calls("externalcontact/get")
    assert fake.params(request) == {"external_userid": EXT, "cursor": "NEXT", "access_token": "TOKEN1"}


def test_batch_get_by_user(client, fake):
    fake.on("POST", "externalcontact/batch/get_by_user")
    reply = client.batch_get_by_user(["rocky", "zhangsan"], cursor="C1", limit=50)
    assert reply["next_cursor"] == fixture("externalcontact/batch/get_by_user")["next_cursor"]
    assert fake.body("externalcontact/batch/get_by_user") == {"userid_list": ["rocky", "zhangsan"],
                                                              "cursor": "C1", "limit": 50}


def test_remark_omits_unset_fields_and_sends_utf8(client, fake):
    fake.on("POST", "externalcontact/remark")
    client.remark("rocky", EXT, remark="李部长", remark_mobiles=[""])
    assert fake.body("externalcontact/remark") == {"userid": "rocky", "external_userid": EXT,
                                                   "remark": "李部长", "remark_mobiles": [""]}
    assert "李部长".encode() in fake.calls("externalcontact/remark")[0].body


def test_remark_without_fields_is_rejected_locally(client, fake):
    with pytest.raises(ValueError):
        client.remark("rocky", EXT)
    assert fake.calls() == []


def test_groupchat_list_with_owner_filter(client, fake):
    fake.on("POST", "externalcontact/groupchat/list")
    reply = client.groupchat_list(owner_userids=["zhangsan", "lisi"], cursor="C", limit=100)
    assert reply["group_chat_list"][0]["chat_id"] == "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
    assert fake.body("externalcontact/groupchat/list") == {
        "status_filter": 0, "owner_filter": {"userid_list": ["zhangsan", "lisi"]}, "cursor": "C", "limit": 100}


def test_get_groupmsg_task(client, fake):
    fake.on("POST", "externalcontact/get_groupmsg_task")
    assert client.get_groupmsg_task("msgGCAAAXtWyujaWJHDDGi0mAAAA")["task_list"][0]["status"] == 2
    assert fake.body("externalcontact/get_groupmsg_task") == {"msgid": "msgGCAAAXtWyujaWJHDDGi0mAAAA", "limit": 1000}


def test_auth_getuserinfo_uses_current_endpoint(client, fake):
    fake.on("GET", "auth/getuserinfo")
    assert client.auth_getuserinfo("CODE")["userid"] == "USERID"
    (request,) = fake.calls("auth/getuserinfo")
    assert request.url.startswith(BASE + "auth/getuserinfo?")
    assert fake.params(request) == {"code": "CODE", "access_token": "TOKEN1"}


def test_send_welcome_msg(client, fake):
    fake.on("POST", "externalcontact/send_welcome_msg")
    link = {"msgtype": "link", "link": {"title": "消息标题", "url": "https://example.link.com/path"}}
    client.send_welcome_msg("CALLBACK_CODE", text="欢迎", attachments=[link])
    assert fake.body("externalcontact/send_welcome_msg") == {
        "welcome_code": "CALLBACK_CODE", "text": {"content": "欢迎"}, "attachments": [link]}


def test_send_welcome_msg_late_code_is_permanent(client, fake):
    fake.on("POST", "externalcontact/send_welcome_msg", {"errcode": 41050, "errmsg": "invalid welcome code"})
    with pytest.raises(PermanentWeComError) as info:
        client.send_welcome_msg("CALLBACK_CODE", text="欢迎")
    assert info.value.errcode == 41050


def test_send_app_message_includes_agentid(client, fake):
    fake.on("POST", "message/send")
    assert client.send_app_message(["zhangsan", "lisi"], "text", {"content": "跟进提醒"},
                                   enable_duplicate_check=1)["msgid"] == "xxxx"
    assert fake.body("message/send") == {
        "touser": "zhangsan|lisi", "msgtype": "text", "agentid": 1000002, "text": {"content": "跟进提醒"},
        "enable_duplicate_check": 1, "duplicate_check_interval": 1800}


def test_send_app_message_needs_agent_id(make_client, fake):
    with pytest.raises(ValueError):
        make_client().send_app_message("zhangsan", "text", {"content": "x"})
    assert fake.calls() == []


def test_jsapi_signature_matches_published_example(client):
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    expected = "f4d90daf4b3bca3078ab155816175ba34c443a7b"
    assert client.jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com") == expected
    # the #fragment is not part of the signed URL
    assert client.jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", "1414587457", "http://mp.weixin.qq.com#x") == expected


def test_jsapi_tickets_are_cached_per_corp_and_per_agent(fake, make_client, redis_client):
    fake.token()
    fake.on("GET", "get_jsapi_ticket")
    fake.on("GET", "ticket/get")
    app1, app1_again, app2 = make_client(agent_id=1000002), make_client(agent_id=1000002), make_client(agent_id=1000003)

    assert app1.get_jsapi_ticket() == app2.get_jsapi_ticket() == fixture("get_jsapi_ticket")["ticket"]
    assert app1.get_agent_jsapi_ticket() == app1_again.get_agent_jsapi_ticket() == fixture("ticket/get")["ticket"]
    app2.get_agent_jsapi_ticket()

    assert len(fake.calls("get_jsapi_ticket")) == 1
    assert [fake.params(r)["type"] for r in fake.calls("ticket/get")] == ["agent_config", "agent_config"]
    ticket_keys = sorted(k.decode() for k in redis_client.keys("*ticket"))
    assert ticket_keys == ["scrm:wecom:ww1436e0e65a779aee:1000002:agent_jsapi_ticket",
                           "scrm:wecom:ww1436e0e65a779aee:1000003:agent_jsapi_ticket",
                           "scrm:wecom:ww1436e0e65a779aee:jsapi_ticket"]
    assert all(6990 <= redis_client.ttl(k) <= 7000 for k in ticket_keys)


# Every public method -> (HTTP method, path, body or params): guards against typos in paths/field names.
ROUTES = [
    (lambda c: c.get_follow_user_list(), "GET", "externalcontact/get_follow_user_list", {}),
    (lambda c: c.get_corp_tag_list(group_ids=["g1"]), "POST", "externalcontact/get_corp_tag_list",
     {"group_id": ["g1"]}),
    (lambda c: c.get_strategy_tag_list(strategy_id=1), "POST", "externalcontact/get_strategy_tag_list",
     {"strategy_id": 1}),
    (lambda c: c.mark_tag("u1", EXT, add_tag=["t1"]), "POST", "externalcontact/mark_tag",
     {"userid": "u1", "external_userid": EXT, "add_tag": ["t1"], "remove_tag": []}),
    (lambda c: c.groupchat_get("wr1"), "POST", "externalcontact/groupchat/get", {"chat_id": "wr1", "need_name": 1}),
    (lambda c: c.add_msg_template({"chat_type": "single", "external_userid": [EXT], "text": {"content": "hi"}}),
     "POST", "externalcontact/add_msg_template",
     {"chat_type": "single", "external_userid": [EXT], "text": {"content": "hi"}}),
    (lambda c: c.get_groupmsg_send_result("m1", "u1", cursor="C"), "POST", "externalcontact/get_groupmsg_send_result",
     {"msgid": "m1", "userid": "u1", "limit": 1000, "cursor": "C"}),
    (lambda c: c.add_contact_way({"type": 1, "scene": 2, "state": "s"}), "POST", "externalcontact/add_contact_way",
     {"type": 1, "scene": 2, "state": "s"}),
    (lambda c: c.update_contact_way({"config_id": "cfg", "remark": "r"}), "POST",
     "externalcontact/update_contact_way", {"config_id": "cfg", "remark": "r"}),
    (lambda c: c.del_contact_way("cfg"), "POST", "externalcontact/del_contact_way", {"config_id": "cfg"}),
    (lambda c: c.list_departments(2), "GET", "department/list", {"id": "2"}),
    (lambda c: c.list_users(2), "GET", "user/list", {"department_id": "2", "fetch_child": "1"}),
    (lambda c: c.call("POST", "externalcontact/opengid_to_chatid", json={"opengid": "og"}), "POST",
     "externalcontact/opengid_to_chatid", {"opengid": "og"}),
]


@pytest.mark.parametrize("invoke, method, path, sent", ROUTES, ids=[r[2] for r in ROUTES])
def test_route(client, fake, invoke, method, path, sent):
    fake.on(method, path, {"errcode": 0, "errmsg": "ok", "marker": path})
    assert invoke(client)["marker"] == path
    if method == "GET":
        params = fake.params(fake.calls(path)[0])
        assert params.pop("access_token") == "TOKEN1" and params == sent
    else:
        assert fake.body(path) == sent
