"""Open API for the sidebar's set-up (funnel stages, custom fields, staff roles) and records."""
from __future__ import annotations

from datetime import timedelta

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Staff
from tests.api.factories import gen_customer, gen_relation, gen_token
from tests.conftest import TEST_CORP_ID
from tests.sidebar.conftest import login


def _auth():
    return {"Authorization": f"Bearer {gen_token()}"}


def test_funnel_stages_default_then_edited(client):
    headers = _auth()
    assert client.get("/api/v1/funnel-stages").status_code == 401
    stages = client.get("/api/v1/funnel-stages", headers=headers).get_json()
    assert [s["name"] for s in stages] == ["初步接触", "需求确认", "方案报价", "商务谈判", "已成交", "已流失"]
    created = client.post("/api/v1/funnel-stages", json={"name": "复购", "order": 10}, headers=headers)
    assert created.status_code == 201
    assert client.post("/api/v1/funnel-stages", json={"name": ""}, headers=headers).status_code == 422
    stage_id = stages[0]["id"]
    assert client.patch(f"/api/v1/funnel-stages/{stage_id}", json={"name": "线索"},
                        headers=headers).get_json()["name"] == "线索"
    assert client.delete(f"/api/v1/funnel-stages/{stages[5]['id']}", headers=headers).status_code == 204
    names = [s["name"] for s in client.get("/api/v1/funnel-stages", headers=headers).get_json()]
    assert names == ["线索", "需求确认", "方案报价", "商务谈判", "已成交", "复购"]


def test_custom_fields_are_validated(client):
    headers = _auth()
    resp = client.post("/api/v1/custom-fields", json={"key": "Level!", "label": "等级", "type": "select"},
                       headers=headers)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]["json"]
    assert set(errors) == {"key", "options"}
    ok = client.post("/api/v1/custom-fields", json={"key": "level", "label": "等级", "type": "select",
                                                    "options": ["A", "B"]}, headers=headers)
    assert ok.status_code == 201 and ok.get_json()["options"] == ["A", "B"]
    again = client.post("/api/v1/custom-fields", json={"key": "level", "label": "x", "type": "text"},
                        headers=headers)
    assert again.status_code == 422 and "key" in again.get_json()["errors"]["json"]
    field_id = ok.get_json()["id"]
    assert client.patch(f"/api/v1/custom-fields/{field_id}", json={"options": []}, headers=headers).status_code == 422
    assert client.delete(f"/api/v1/custom-fields/{field_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/custom-fields", headers=headers).get_json() == []


def test_a_role_widens_what_the_sidebar_shows(client):
    headers = _auth()
    customer = gen_customer()
    gen_relation(customer, "someone")
    login(client, "boss")
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 403
    assert client.put("/api/v1/staff-roles/nobody", json={"role": "sales"}, headers=headers).status_code == 404
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="boss", name="老板", status=1))
    db.session.commit()
    resp = client.put("/api/v1/staff-roles/boss", json={"role": "admin", "data_scope": "corp"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["userid"] == "boss"
    assert client.put("/api/v1/staff-roles/boss", json={"role": "king", "data_scope": "all"},
                      headers=headers).status_code == 422
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 200
    assert client.delete("/api/v1/staff-roles/boss", headers=headers).status_code == 204
    assert client.get(f"/sidebar/api/customers/{customer.external_userid}").status_code == 403


def test_follow_ups_and_audit_log_are_listed(client):
    headers = _auth()
    customer = gen_customer()
    gen_relation(customer, "zhangsan")
    login(client, "zhangsan")
    client.get(f"/sidebar/api/customers/{customer.external_userid}")
    client.post(f"/sidebar/api/customers/{customer.external_userid}/follow-ups",
                json={"kind": "note", "content": "需要报价单",
                      "next_at": (utcnow() + timedelta(days=2)).isoformat() + "Z"})
    follow_ups = client.get("/api/v1/follow-ups", query_string={"external_userid": customer.external_userid},
                            headers=headers).get_json()
    assert [(f["kind"], f["content"], f["reminder_status"]) for f in follow_ups] == [("note", "需要报价单", "pending")]
    audit = client.get("/api/v1/audit-log", query_string={"userid": "zhangsan"}, headers=headers).get_json()
    assert [a["action"] for a in audit] == ["follow_up", "view_customer"]
    assert client.get("/api/v1/audit-log", query_string={"action": "edit_tags"}, headers=headers).get_json() == []
