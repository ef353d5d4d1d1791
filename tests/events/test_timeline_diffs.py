"""Edits made in WeCom, as the sidebar's timeline shows them: the callback handlers keep the old
and new values (remark, tags added / removed, the group's name) in the entry's data, and the
sidebar answers them as `changes`, like the edits made in the sidebar itself."""
from __future__ import annotations

import responses

from scrm.extensions import db
from scrm.models import StaffRole
from tests.conftest import TEST_CORP_ID
from tests.events.support import timeline
from tests.events.test_customers import EXTERNAL, GET, add_event, contact_event
from tests.events.test_groups import CHAT, CUSTOMER, V1, chat_event, group_reply, member_event
from tests.events.test_groups import GET as GROUP_GET
from tests.helpers import wecom_url
from tests.sidebar.conftest import login


def _timeline(client, external_userid: str) -> list[dict]:
    login(client, "zhangsan")
    resp = client.get(f"/sidebar/api/customers/{external_userid}/timeline")
    assert resp.status_code == 200
    return resp.get_json()["items"]


def _edited(api, deliver, **changes) -> None:
    api.reply(GET, method="GET")
    deliver(add_event())
    edited = api.fixture(GET)
    mine = edited["follow_user"][0]
    mine.update(changes)
    api.reply(GET, edited, method="GET")
    deliver(contact_event("edit_external_contact", create_time=1700000100))


def test_a_remark_and_tags_edited_in_wecom_show_old_and_new(api, deliver, client):
    tags = api.fixture(GET)["follow_user"][0]["tags"]
    _edited(api, deliver, remark="李总", description="",
            tags=[tags[1], {"group_name": "客户等级", "tag_name": "普通", "tag_id": "etTAG2", "type": 1}])

    (entry,) = timeline(EXTERNAL, "relation_updated")
    assert entry.data["changes"]["remark"] == ["李部长", "李总"]
    [item] = [i for i in _timeline(client, EXTERNAL) if i["kind"] == "relation_updated"]
    assert item["source"] == "callback" and item["kind_label"] == "资料更新"
    assert item["changes"] == [
        {"field": "remark", "label": "备注", "from": "李部长", "to": "李总"},
        {"field": "description", "label": "描述", "from": "对接采购事务", "to": None},
        {"field": "tags", "label": "标签", "added": ["普通"], "removed": ["重要"]},
    ]


def test_remark_mobiles_changed_in_wecom_are_masked_unless_the_role_may_see_them(api, deliver, client):
    _edited(api, deliver, remark_mobiles=["13900000002"])

    [item] = [i for i in _timeline(client, EXTERNAL) if i["kind"] == "relation_updated"]
    assert item["changes"] == [{"field": "remark_mobiles", "label": "备注电话", "from": "138****0001",
                                "to": "139****0002"}]
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="sales", data_scope="self",
                             can_view_mobile=True))
    db.session.commit()
    [item] = [i for i in _timeline(client, EXTERNAL) if i["kind"] == "relation_updated"]
    assert item["changes"][0]["from"] == "13800000001" and item["changes"][0]["to"] == "13900000002"


def test_the_customers_own_name_change_shows_old_and_new(api, deliver, client):
    api.reply(GET, method="GET")
    deliver(add_event())
    renamed = api.fixture(GET)
    renamed["external_contact"]["name"] = "李四<script>"
    renamed["external_contact"]["avatar"] = "http://wx.qlogo.cn/new/0"
    api.reply(GET, renamed, method="GET")
    deliver(contact_event("edit_external_contact", create_time=1700000100))

    [item] = [i for i in _timeline(client, EXTERNAL) if i["kind"] == "customer_updated"]
    assert item["changes"] == [{"field": "name", "label": "昵称", "from": "李四", "to": "李四<script>"},
                               {"field": "avatar", "label": "头像"}]  # an URL says nothing: "updated" only


def test_a_group_renamed_in_wecom_is_on_its_customers_timelines(api, deliver, client, wecom):
    api.reply(GROUP_GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GROUP_GET, group_reply(api, V1, name="VIP<b>客户群</b>"))
    row = deliver(member_event("change_name", V1, V1, [], 1700000050))

    (entry,) = timeline(CUSTOMER, "group_renamed")
    assert (entry.userid, entry.event_id, entry.source) == ("zhangsan", row.id, "callback")
    assert entry.data == {"chat_id": CHAT, "chat_name": "VIP<b>客户群</b>", "from": "销售客服群",
                          "to": "VIP<b>客户群</b>"}
    assert timeline(kind="group_renamed") == [entry]  # customers only, not the staff members

    # The sidebar shows it on the customer's timeline (a follower of the customer opens it).
    wecom.add(responses.GET, wecom_url("externalcontact/get"), json={
        "errcode": 0, "errmsg": "ok", "external_contact": {"external_userid": CUSTOMER, "name": "王五", "type": 1},
        "follow_user": [{"userid": "zhangsan", "createtime": 1700000000, "tags": []}]})
    login(client, "zhangsan")
    assert client.post(f"/sidebar/api/customers/{CUSTOMER}/fetch").status_code == 200
    [item] = [i for i in _timeline(client, CUSTOMER) if i["kind"] == "group_renamed"]
    assert item["kind_label"] == "群名修改"
    assert item["changes"] == [{"field": "group_name", "label": "群名", "from": "销售客服群", "to": "VIP<b>客户群</b>"}]
    joined = [i for i in _timeline(client, CUSTOMER) if i["kind"] == "joined_group"]
    assert joined[0]["summary"] == "销售客服群"  # the group's name then


def test_member_changes_and_repeats_record_no_rename(api, deliver):
    api.reply(GROUP_GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GROUP_GET, group_reply(api, V1, name="新群名"))
    deliver(member_event("change_name", V1, V1, [], 1700000050), times=2)  # WeCom re-sent it
    api.reply(GROUP_GET, group_reply(api, "v2" + "a" * 30, name="新群名", with_newcomer=True))
    deliver(member_event("add_member", V1, "v2" + "a" * 30, ["wmNEW"], 1700000060))

    assert len(timeline(CUSTOMER, "group_renamed")) == 1
