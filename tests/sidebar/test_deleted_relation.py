"""The sidebar for a relation the customer deleted (客户已删除你): its history stays readable for
the staff member who had it, read-only where WeCom or the remaining followers own the data;
colleagues who left the corp are marked; the churn-risk and recall hooks."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import AuditLog, CustomerStage, CustomField, FollowUp, StaffRole
from scrm.services.profile import relation_risk
from scrm.services.profile.recall import recall_task
from tests.api.factories import T0, gen_customer, gen_relation, gen_staff, gen_timeline
from tests.sidebar.conftest import login

DELETED_AT = T0 + timedelta(days=3, hours=2)


def _deleted(status: str = "deleted_by_customer", **relation):
    customer = gen_customer(name="王总")
    gen_staff(userid="zhangsan", name="张三", department_ids=[1])
    gen_staff(userid="wangwu", name="王五", department_ids=[2])
    gen_relation(customer, "zhangsan", remark="王总", remark_mobiles=["13812345678"], status=status,
                 status_changed_at=DELETED_AT, **relation)
    gen_relation(customer, "wangwu", remark="老王")
    gen_timeline(customer, "relation_added", userid="zhangsan")
    gen_timeline(customer, "deleted_by_customer", userid="zhangsan", minutes=60)
    db.session.add(FollowUp(corp_id=customer.corp_id, userid="zhangsan", external_userid=customer.external_userid,
                            kind="call", content="电话报价", reminder_status="none", created_at=T0, updated_at=T0))
    db.session.commit()
    return customer


def test_the_staff_member_the_customer_deleted_still_reads_the_history(staff_client):
    customer = _deleted()
    url = f"/sidebar/api/customers/{customer.external_userid}"
    resp = staff_client.get(url)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["relation"]["status"] == "deleted_by_customer" and body["relation"]["status_label"] == "客户已删除"
    assert body["relation"]["status_changed_at"] == DELETED_AT.isoformat() + "Z"  # 「客户已删除你」 and when
    assert body["relation"]["remark_mobiles"] == ["138****5678"]  # masked by role, as for any relation
    assert body["read_only"] is True and body["tags"]["editable"] is False
    assert body["recall"] is None and body["churn_risk"] is None  # nothing plugged in yet
    assert [e["kind"] for e in body["timeline"]["items"]] == ["deleted_by_customer", "relation_added"]
    assert [f["content"] for f in body["follow_ups"]] == ["电话报价"]
    assert staff_client.get(f"{url}/timeline").get_json()["items"][0]["kind_label"] == "客户删除成员"
    assert staff_client.get(f"{url}/follow-ups").get_json()["total"] == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="view_customer")) == 1


def test_what_belongs_to_wecom_or_the_remaining_followers_is_read_only(staff_client):
    customer = _deleted()
    db.session.add(CustomField(corp_id=customer.corp_id, key="budget", label="预算", type="number", order=1))
    db.session.commit()
    url = f"/sidebar/api/customers/{customer.external_userid}"
    stage_id = staff_client.get(url).get_json()["stage"]["options"][0]["id"]
    assert staff_client.put(f"{url}/stage", json={"stage_id": stage_id}).status_code == 403
    assert staff_client.put(f"{url}/fields", json={"values": {"budget": 1}}).status_code == 403
    assert staff_client.put(f"{url}/tags", json={"add": [], "remove": []}).status_code == 403
    assert staff_client.put(f"{url}/remark", json={"remark": "x"}).status_code == 403
    assert db.session.scalar(select(CustomerStage)) is None
    # A follow-up (a call to win them back) can still be written.
    resp = staff_client.post(f"{url}/follow-ups", json={"kind": "call", "content": "电话联系，客户说误删"})
    assert resp.status_code == 201
    assert staff_client.get(f"{url}/follow-ups").get_json()["total"] == 2


@pytest.mark.parametrize("status", ["deleted_by_staff", "transferred", "deleted_unknown"])
def test_other_ended_relations_stay_forbidden(staff_client, status):
    customer = _deleted(status)
    url = f"/sidebar/api/customers/{customer.external_userid}"
    assert staff_client.get(url).get_json() == {"code": 403, "message": "无权查看该客户"}
    for path in ("timeline", "follow-ups"):
        assert staff_client.get(f"{url}/{path}").status_code == 403
    assert staff_client.post(f"{url}/follow-ups", json={"kind": "note", "content": "x"}).status_code == 403


def test_a_wider_scope_keeps_the_edits_on_a_deleted_relation(client):
    customer = _deleted()
    db.session.add(StaffRole(corp_id=customer.corp_id, userid="zhangsan", role="admin", data_scope="corp"))
    db.session.commit()
    login(client, "zhangsan")
    url = f"/sidebar/api/customers/{customer.external_userid}"
    body = client.get(url).get_json()
    assert body["read_only"] is False and body["relation"]["status"] == "deleted_by_customer"
    assert client.put(f"{url}/stage", json={"stage_id": body["stage"]["options"][1]["id"]}).status_code == 200


def test_colleagues_who_left_are_marked(staff_client):
    customer = gen_customer()
    gen_staff(userid="zhangsan", name="张三")
    gen_staff(userid="lisi", name="李四", left_at=T0, status=5)
    gen_staff(userid="zhaoliu", name="赵六", status=5)  # WeCom says left; no delete_user seen
    gen_staff(userid="wangwu", name="王五", status=1)
    for userid in ("zhangsan", "lisi", "zhaoliu", "wangwu"):
        gen_relation(customer, userid)
    db.session.add(FollowUp(corp_id=customer.corp_id, userid="lisi", external_userid=customer.external_userid,
                            kind="note", content="老客户", reminder_status="none", created_at=T0, updated_at=T0))
    db.session.commit()
    body = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()
    colleagues = {c["userid"]: (c["left"], c["left_at"]) for c in body["colleagues"]}
    assert colleagues == {"lisi": (True, T0.isoformat() + "Z"), "zhaoliu": (True, None), "wangwu": (False, None)}
    [follow_up] = body["follow_ups"]
    assert (follow_up["staff_name"], follow_up["staff_left"]) == ("李四", True)
    listed = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}/follow-ups").get_json()
    assert listed["items"][0]["staff_left"] is True


def test_the_risk_and_recall_hooks_answer_none_until_filled(app):
    customer = _deleted()
    assert relation_risk(customer.corp_id, "zhangsan", customer.external_userid) is None
    assert recall_task(customer.corp_id, "zhangsan", customer.external_userid) is None
