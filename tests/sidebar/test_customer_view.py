"""The sidebar's customer view and edits: access rules, masking, audit, WeCom calls, timeline."""
from __future__ import annotations

import json
from datetime import date, timedelta

import responses
from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    AuditLog,
    CustomerDate,
    CustomerStage,
    CustomField,
    FollowUp,
    RelationTag,
    StaffRole,
    TimelineEntry,
)
from tests.api.factories import gen_customer, gen_relation, gen_relation_tag, gen_staff, gen_tag, gen_timeline
from tests.helpers import wecom_fixture, wecom_url
from tests.sidebar.conftest import login

XSS = "<img src=x onerror=alert(1)>"


def _customer(**kw):
    customer = gen_customer(name=XSS, **kw)
    gen_staff(userid="zhangsan", name="张三", department_ids=[1])
    gen_staff(userid="lisi", name="李四", department_ids=[2])
    gen_staff(userid="wangwu", name="王五", department_ids=[1])
    relation = gen_relation(customer, "zhangsan", remark="王总", remark_mobiles=["13812345678"], add_way=1)
    gen_relation(customer, "wangwu", remark="老王")
    return customer, relation


def _audits(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).filter_by(action=action)))


def test_a_follower_sees_the_whole_profile_with_mobiles_masked_and_the_view_audited(staff_client):
    customer, relation = _customer()
    tag = gen_tag(tag_id="et1", name="重要", group_id="g1", group_name="客户等级")
    gen_tag(tag_id="et2", name="一般", group_id="g1b", group_name="客户类型")
    gen_relation_tag(relation, tag.tag_id, "重要")
    gen_relation_tag(relation, None, "老朋友")
    gen_timeline(customer, "relation_added", userid="zhangsan")

    resp = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["customer"]["name"] == XSS  # returned as data; the page inserts it as text
    assert body["customer"]["type_label"] == "微信用户" and body["customer"]["gender_label"] == "男"
    assert body["relation"]["remark"] == "王总"
    assert body["relation"]["remark_mobiles"] == ["138****5678"] and body["relation"]["mobiles_masked"]
    assert body["relation"]["add_way_label"] == "扫描二维码"
    assert [c["name"] for c in body["colleagues"]] == ["王五"]
    assert body["tags"]["selected"] == [{"tag_id": "et1", "name": "重要", "group_name": "客户等级"}]
    assert body["tags"]["personal"] == [{"name": "老朋友"}] and body["tags"]["editable"] is True
    assert "groups" not in body["tags"]  # the library is corp-wide: GET /sidebar/api/tag-library
    library = staff_client.get("/sidebar/api/tag-library")
    assert library.headers["ETag"].strip('"') == body["tags"]["library_version"] == library.get_json()["version"]
    assert [(g["name"], [t["tag_id"] for t in g["tags"]]) for g in library.get_json()["groups"]] == [
        ("客户等级", ["et1"]), ("客户类型", ["et2"])]
    assert [s["name"] for s in body["stage"]["options"]][:2] == ["初步接触", "需求确认"]
    assert body["stage"]["current"] is None and body["churn_risk"] is None
    assert body["timeline"]["items"][0]["kind_label"] == "添加为客户"
    assert body["timeline"]["items"][0]["occurred_at"].endswith("Z")
    [audit] = _audits("view_customer")
    assert (audit.userid, audit.target_id) == ("zhangsan", customer.external_userid)


def test_a_staff_member_who_does_not_follow_gets_403_and_nothing_else(client):
    customer, _ = _customer()
    login(client, "lisi")
    resp = client.get(f"/sidebar/api/customers/{customer.external_userid}")
    assert resp.status_code == 403
    assert resp.get_json() == {"code": 403, "message": "无权查看该客户"}
    for path in ("timeline", "follow-ups"):
        assert client.get(f"/sidebar/api/customers/{customer.external_userid}/{path}").status_code == 403
    assert client.put(f"/sidebar/api/customers/{customer.external_userid}/stage",
                      json={"stage_id": None}).status_code == 403
    assert _audits("view_customer") == []


def test_wider_data_scopes_and_the_mobile_permission(client):
    customer, _ = _customer()
    login(client, "lisi")
    db.session.add(StaffRole(corp_id=customer.corp_id, userid="lisi", role="manager", data_scope="department"))
    db.session.commit()
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 403  # dept 2
    db.session.add(StaffRole(corp_id=customer.corp_id, userid="wangwu", role="manager", data_scope="department",
                             can_view_mobile=True))
    db.session.commit()
    login(client, "wangwu")  # follows too, and may see mobiles of their own relation
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 200
    role = db.session.scalar(select(StaffRole).filter_by(userid="lisi"))
    role.data_scope, role.can_view_mobile = "corp", True
    db.session.commit()
    login(client, "lisi")
    body = client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()
    assert body["relation"] is None and body["tags"]["editable"] is False
    assert len(body["colleagues"]) == 2


def test_department_scope_sees_what_a_colleague_of_the_department_follows(client):
    customer = gen_customer()
    gen_staff(userid="lead", name="组长", department_ids=[7])
    gen_staff(userid="member", name="组员", department_ids=[7, 8])
    gen_relation(customer, "member")
    db.session.add(StaffRole(corp_id=customer.corp_id, userid="lead", role="manager", data_scope="department"))
    db.session.commit()
    login(client, "lead")
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 200


def test_no_session_is_401_with_the_login_url(client):
    resp = client.get("/sidebar/api/customers/wm1")
    assert resp.status_code == 401 and resp.get_json()["login_url"] == "/sidebar/oauth/start"
    login(client, "zhangsan", expires_in=-10)
    assert client.get("/sidebar/api/customers/wm1").status_code == 401


def test_a_customer_not_yet_synced_is_404_and_fetch_reads_wecom(staff_client, wecom):
    external = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"
    resp = staff_client.get(f"/sidebar/api/customers/{external}")
    assert resp.status_code == 404 and resp.get_json()["synced"] is False
    wecom.add(responses.GET, wecom_url("externalcontact/get"), json=wecom_fixture("externalcontact/get"))
    resp = staff_client.post(f"/sidebar/api/customers/{external}/fetch")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["customer"]["name"] == "李四" and body["relation"]["remark"] == "李部长"
    assert body["relation"]["remark_mobiles"] == ["138****0001"]


def test_fetch_of_someone_wecom_does_not_know_stays_404(staff_client, wecom):
    wecom.add(responses.GET, wecom_url("externalcontact/get"),
              json={"errcode": 84061, "errmsg": "not external contact"})
    resp = staff_client.post("/sidebar/api/customers/wmnobody/fetch")
    assert resp.status_code == 404


def test_a_fetched_customer_this_staff_member_does_not_follow_is_403(client, wecom):
    external = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"
    wecom.add(responses.GET, wecom_url("externalcontact/get"), json=wecom_fixture("externalcontact/get"))
    login(client, "outsider")
    assert client.post(f"/sidebar/api/customers/{external}/fetch").status_code == 403


def test_tag_edits_call_mark_tag_and_are_recorded_locally(staff_client, wecom):
    customer, relation = _customer()
    gen_tag(tag_id="et1", name="重要", group_id="g1", group_name="客户等级")
    gen_tag(tag_id="et2", name="一般", group_id="g2", group_name="客户类型")
    gen_relation_tag(relation, "et2", "一般")
    wecom.add(responses.POST, wecom_url("externalcontact/mark_tag"), json={"errcode": 0, "errmsg": "ok"})
    resp = staff_client.put(f"/sidebar/api/customers/{customer.external_userid}/tags",
                            json={"add": ["et1"], "remove": ["et2"]})
    assert resp.status_code == 200
    assert [t["tag_id"] for t in resp.get_json()["selected"]] == ["et1"]
    [call] = [c for c in wecom.calls if "mark_tag" in c.request.url]
    assert json.loads(call.request.body) == {"userid": "zhangsan", "external_userid": customer.external_userid,
                                             "add_tag": ["et1"], "remove_tag": ["et2"]}
    assert set(db.session.scalars(select(RelationTag.tag_id).filter_by(userid="zhangsan"))) == {"et1"}
    entry = db.session.scalar(select(TimelineEntry).filter_by(kind="tags_changed"))
    assert entry.source == "sidebar" and entry.summary == "添加 重要；移除 一般"
    assert len(_audits("edit_tags")) == 1


def test_unknown_tags_are_422_and_wecom_refusals_502_and_nothing_changes(staff_client, wecom):
    customer, _ = _customer()
    gen_tag(tag_id="et1", name="重要", group_id="g1", group_name="客户等级")
    resp = staff_client.put(f"/sidebar/api/customers/{customer.external_userid}/tags", json={"add": ["nope"]})
    assert resp.status_code == 422 and "add" in resp.get_json()["errors"]
    wecom.add(responses.POST, wecom_url("externalcontact/mark_tag"), json={"errcode": 40068, "errmsg": "invalid tagid"})
    resp = staff_client.put(f"/sidebar/api/customers/{customer.external_userid}/tags", json={"add": ["et1"]})
    assert resp.status_code == 502 and resp.get_json()["errcode"] == 40068
    assert db.session.scalars(select(RelationTag)).all() == []
    assert db.session.scalar(select(TimelineEntry).filter_by(kind="tags_changed")) is None


def test_stage_changes_are_on_the_timeline(staff_client):
    customer, _ = _customer()
    url = f"/sidebar/api/customers/{customer.external_userid}/stage"
    options = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()["stage"]["options"]
    resp = staff_client.put(url, json={"stage_id": options[2]["id"]})
    assert resp.status_code == 200 and resp.get_json()["current"]["name"] == "方案报价"
    assert db.session.scalar(select(CustomerStage.stage_id)) == options[2]["id"]
    assert db.session.scalar(select(TimelineEntry.summary).filter_by(kind="stage_changed")) == "未设置 → 方案报价"
    assert staff_client.put(url, json={"stage_id": 999999}).status_code == 422
    assert staff_client.put(url, json={"stage_id": "x"}).status_code == 422


def test_custom_fields_validate_per_field_and_a_date_becomes_a_customer_date(staff_client):
    customer, _ = _customer()
    corp = customer.corp_id
    db.session.add_all([
        CustomField(corp_id=corp, key="budget", label="预算", type="number", order=1),
        CustomField(corp_id=corp, key="birthday", label="生日", type="date", order=2),
        CustomField(corp_id=corp, key="level", label="等级", type="select", options=["A", "B"], order=3),
        CustomField(corp_id=corp, key="note", label="备注", type="text", required=True, order=4)])
    db.session.commit()
    url = f"/sidebar/api/customers/{customer.external_userid}/fields"
    resp = staff_client.put(url, json={"values": {"budget": "很多", "birthday": "1990-13-01", "level": "C",
                                                  "note": "", "ghost": 1}})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"budget": ["请输入数字"], "birthday": ["日期格式应为 YYYY-MM-DD"],
                                         "level": ["请选择列表中的选项"], "note": ["必填"], "ghost": ["未知的字段"]}
    resp = staff_client.put(url, json={"values": {"budget": 12000, "birthday": "1990-05-20", "level": "A",
                                                  "note": "喜欢喝茶"}})
    assert resp.status_code == 200
    assert {f["key"]: f["value"] for f in resp.get_json()} == {
        "budget": 12000, "birthday": "1990-05-20", "level": "A", "note": "喜欢喝茶"}
    assert db.session.scalar(select(CustomerDate.value).filter_by(key="birthday")) == date(1990, 5, 20)
    assert db.session.scalar(select(TimelineEntry.summary).filter_by(kind="fields_changed")) == "预算、生日、等级、备注"


def test_remark_edits_go_to_wecom(staff_client, wecom):
    customer, relation = _customer()
    wecom.add(responses.POST, wecom_url("externalcontact/remark"), json={"errcode": 0, "errmsg": "ok"})
    url = f"/sidebar/api/customers/{customer.external_userid}/remark"
    assert staff_client.put(url, json={"remark": "x" * 21}).status_code == 422
    assert staff_client.put(url, json={"remark_mobiles": ["138****5678"]}).status_code == 422
    resp = staff_client.put(url, json={"remark": "王总监", "description": "采购负责人",
                                       "remark_mobiles": ["13900001111"]})
    assert resp.status_code == 200 and resp.get_json()["remark"] == "王总监"
    [call] = [c for c in wecom.calls if "externalcontact/remark" in c.request.url]
    assert json.loads(call.request.body) == {"userid": "zhangsan", "external_userid": customer.external_userid,
                                             "remark": "王总监", "description": "采购负责人",
                                             "remark_mobiles": ["13900001111"]}
    db.session.refresh(relation)
    assert relation.remark_mobiles == ["13900001111"] and relation.description == "采购负责人"


def test_follow_ups_are_listed_on_the_timeline_and_validated(staff_client):
    customer, _ = _customer()
    url = f"/sidebar/api/customers/{customer.external_userid}/follow-ups"
    resp = staff_client.post(url, json={"kind": "walk", "content": "", "next_at": "2000-01-01T10:00"})
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"kind", "content", "next_at"}
    local_next = (utcnow() + timedelta(days=1, hours=8)).replace(microsecond=0)  # Asia/Shanghai = UTC+8
    resp = staff_client.post(url, json={"kind": "call", "content": "电话沟通报价",
                                        "next_at": local_next.isoformat()})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["kind_label"] == "电话" and body["staff_name"] == "张三" and body["reminder_status"] == "pending"
    assert body["next_at"] == (local_next - timedelta(hours=8)).isoformat() + "Z"
    listed = staff_client.get(url).get_json()
    assert listed["total"] == 1 and listed["items"][0]["content"] == "电话沟通报价"
    assert db.session.scalar(select(TimelineEntry.summary).filter_by(kind="follow_up")) == "电话：电话沟通报价"
    view = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()
    assert view["follow_ups"][0]["id"] == body["id"]


def test_timeline_pages_newest_first_without_gaps_or_repeats(staff_client):
    customer, _ = _customer()
    for minute in range(25):
        gen_timeline(customer, "relation_updated", minutes=minute)
    seen, before = [], None
    while True:
        query = {"limit": 10} | ({"before": before} if before else {})
        page = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}/timeline",
                                query_string=query).get_json()
        seen += page["items"]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 25 == len({e["id"] for e in seen})
    assert [e["occurred_at"] for e in seen] == sorted((e["occurred_at"] for e in seen), reverse=True)


def _reminders(wecom):
    """The follow-up reminders sent (textcards): the morning digest's template cards may also go
    out when a tick's --now crosses SCRM_DIGEST_AT, depending on when the suite runs."""
    sent = [json.loads(c.request.body) for c in wecom.calls if "message/send" in c.request.url]
    return [m for m in sent if m["msgtype"] == "textcard"]


def test_follow_up_reminders_are_sent_when_due(app, staff_client, wecom, runner):
    customer, _ = _customer()
    staff_client.post(f"/sidebar/api/customers/{customer.external_userid}/follow-ups",
                      json={"kind": "visit", "content": "上门拜访",
                            "next_at": (utcnow() + timedelta(hours=1)).isoformat() + "Z"})
    wecom.add(responses.POST, wecom_url("message/send"), json={"errcode": 0, "errmsg": "ok", "invaliduser": ""})
    result = runner.invoke(args=["scrm", "tick", "--now", (utcnow() + timedelta(minutes=30)).isoformat()])
    assert result.exit_code == 0, result.output
    assert not _reminders(wecom)
    result = runner.invoke(args=["scrm", "tick", "--now", (utcnow() + timedelta(hours=2)).isoformat()])
    assert result.exit_code == 0, result.output
    [sent] = _reminders(wecom)
    assert sent["touser"] == "zhangsan" and sent["msgtype"] == "textcard"
    assert "&lt;img" in sent["textcard"]["description"]  # the customer's name, escaped
    assert customer.external_userid in sent["textcard"]["url"]
    db.session.expire_all()
    assert db.session.scalar(select(FollowUp.reminder_status)) == "sent"
    runner.invoke(args=["scrm", "tick", "--now", (utcnow() + timedelta(hours=3)).isoformat()])
    assert len(_reminders(wecom)) == 1  # once
