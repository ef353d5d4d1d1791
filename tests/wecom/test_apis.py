"""Request bodies/params per PROTOCOL.md §3, JS-SDK tickets and signature."""
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


def test_transfer_customer(client, fake):
    fake.on("POST", "externalcontact/transfer_customer")
    reply = client.transfer_customer("zhangsan", "lisi", ["woA", "woB"], transfer_success_msg="您好")
    assert [c["errcode"] for c in reply["customer"]] == [40096, 0]  # per-customer results are not raised
    assert fake.body("externalcontact/transfer_customer") == {
        "handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": ["woA", "woB"],
        "transfer_success_msg": "您好"}


def test_resigned_transfer_customer(client, fake):
    fake.on("POST", "externalcontact/resigned/transfer_customer")
    client.resigned_transfer_customer("zhangsan", "lisi", ("woA",))
    assert fake.body("externalcontact/resigned/transfer_customer") == {
        "handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": ["woA"]}


def test_auth_getuserinfo_uses_current_endpoint(client, fake):
    fake.on("GET", "auth/getuserinfo")
    assert client.auth_getuserinfo("CODE")["userid"] == "USERID"
    (request,) = fake.calls("auth/getuserinfo")
    assert request.url.startswith(BASE + "auth/getuserinfo?")
    assert fake.params(request) == {"code": "CODE", "access_token": "TOKEN1"}


def test_statistic_group_by_day_sends_owner_filter(client, fake):
    fake.on("POST", "externalcontact/groupchat/statistic_group_by_day")
    reply = client.statistic_group_by_day(1600272000, 1600444800, owner_userids=["zhangsan"])
    assert reply["items"][0]["data"]["member_total"] == 6
    assert fake.body("externalcontact/groupchat/statistic_group_by_day") == {
        "day_begin_time": 1600272000, "day_end_time": 1600444800, "owner_filter": {"userid_list": ["zhangsan"]}}


def test_group_welcome_template_add(client, fake):
    fake.on("POST", "externalcontact/group_welcome_template/add")
    payload = {"text": {"content": "亲爱的%NICKNAME%用户，你好"},
               "image": {"media_id": "MEDIA_ID"}, "notify": 1}
    assert client.group_welcome_template_add(payload)["template_id"] == "msgXXXXXXX"
    assert fake.body("externalcontact/group_welcome_template/add") == payload


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
    (lambda c: c.list_external_contacts("u1"), "GET", "externalcontact/list", {"userid": "u1"}),
    (lambda c: c.get_corp_tag_list(group_ids=["g1"]), "POST", "externalcontact/get_corp_tag_list",
     {"group_id": ["g1"]}),
    (lambda c: c.add_corp_tag(["VIP", {"name": "新客", "order": 2}], group_name="客户等级", order=1), "POST",
     "externalcontact/add_corp_tag",
     {"group_name": "客户等级", "order": 1, "tag": [{"name": "VIP"}, {"name": "新客", "order": 2}]}),
    (lambda c: c.edit_corp_tag("t1", name="VIP2"), "POST", "externalcontact/edit_corp_tag",
     {"id": "t1", "name": "VIP2"}),
    (lambda c: c.del_corp_tag(tag_ids=["t1"]), "POST", "externalcontact/del_corp_tag", {"tag_id": ["t1"]}),
    (lambda c: c.get_strategy_tag_list(strategy_id=1), "POST", "externalcontact/get_strategy_tag_list",
     {"strategy_id": 1}),
    (lambda c: c.mark_tag("u1", EXT, add_tag=["t1"]), "POST", "externalcontact/mark_tag",
     {"userid": "u1", "external_userid": EXT, "add_tag": ["t1"], "remove_tag": []}),
    (lambda c: c.groupchat_get("wr1"), "POST", "externalcontact/groupchat/get", {"chat_id": "wr1", "need_name": 1}),
    (lambda c: c.add_msg_template({"chat_type": "single", "external_userid": [EXT], "text": {"content": "hi"}}),
     "POST", "externalcontact/add_msg_template",
     {"chat_type": "single", "external_userid": [EXT], "text": {"content": "hi"}}),
    (lambda c: c.get_groupmsg_list_v2("single", 1, 2, creator="u1"), "POST", "externalcontact/get_groupmsg_list_v2",
     {"chat_type": "single", "start_time": 1, "end_time": 2, "creator": "u1", "filter_type": 2, "limit": 100}),
    (lambda c: c.get_groupmsg_send_result("m1", "u1", cursor="C"), "POST", "externalcontact/get_groupmsg_send_result",
     {"msgid": "m1", "userid": "u1", "limit": 1000, "cursor": "C"}),
    (lambda c: c.group_welcome_template_edit("tpl", {"text": {"content": "x"}}), "POST",
     "externalcontact/group_welcome_template/edit", {"template_id": "tpl", "text": {"content": "x"}}),
    (lambda c: c.group_welcome_template_get("tpl"), "POST", "externalcontact/group_welcome_template/get",
     {"template_id": "tpl"}),
    (lambda c: c.group_welcome_template_del("tpl"), "POST", "externalcontact/group_welcome_template/del",
     {"template_id": "tpl"}),
    (lambda c: c.transfer_result("a", "b", cursor="C"), "POST", "externalcontact/transfer_result",
     {"handover_userid": "a", "takeover_userid": "b", "cursor": "C"}),
    (lambda c: c.resigned_transfer_result("a", "b"), "POST", "externalcontact/resigned/transfer_result",
     {"handover_userid": "a", "takeover_userid": "b"}),
    (lambda c: c.get_unassigned_list(cursor="C"), "POST", "externalcontact/get_unassigned_list",
     {"page_size": 1000, "cursor": "C"}),
    (lambda c: c.groupchat_transfer(["wr1"], "u2"), "POST", "externalcontact/groupchat/transfer",
     {"chat_id_list": ["wr1"], "new_owner": "u2"}),
    (lambda c: c.groupchat_onjob_transfer(["wr1"], "u2"), "POST", "externalcontact/groupchat/onjob_transfer",
     {"chat_id_list": ["wr1"], "new_owner": "u2"}),
    (lambda c: c.groupchat_statistic(1, owner_userids=["u1"]), "POST", "externalcontact/groupchat/statistic",
     {"day_begin_time": 1, "owner_filter": {"userid_list": ["u1"]}, "order_by": 1, "order_asc": 0, "offset": 0,
      "limit": 500}),
    (lambda c: c.get_user_behavior_data(["u1"], start_time=1, end_time=2), "POST",
     "externalcontact/get_user_behavior_data", {"userid": ["u1"], "start_time": 1, "end_time": 2}),
    (lambda c: c.add_contact_way({"type": 1, "scene": 2, "state": "s"}), "POST", "externalcontact/add_contact_way",
     {"type": 1, "scene": 2, "state": "s"}),
    (lambda c: c.update_contact_way({"config_id": "cfg", "remark": "r"}), "POST",
     "externalcontact/update_contact_way", {"config_id": "cfg", "remark": "r"}),
    (lambda c: c.get_contact_way("cfg"), "POST", "externalcontact/get_contact_way", {"config_id": "cfg"}),
    (lambda c: c.del_contact_way("cfg"), "POST", "externalcontact/del_contact_way", {"config_id": "cfg"}),
    (lambda c: c.get_user("u1"), "GET", "user/get", {"userid": "u1"}),
    (lambda c: c.list_departments(2), "GET", "department/list", {"id": "2"}),
    (lambda c: c.list_users(2), "GET", "user/list", {"department_id": "2", "fetch_child": "1"}),
    (lambda c: c.msgaudit_get_permit_user_list(type=1), "POST", "msgaudit/get_permit_user_list", {"type": 1}),
    (lambda c: c.msgaudit_check_single_agree([{"userid": "u1", "exteranalopenid": EXT}]), "POST",
     "msgaudit/check_single_agree", {"info": [{"userid": "u1", "exteranalopenid": EXT}]}),
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
