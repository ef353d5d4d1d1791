"""Mass messages under roles and data scopes: sales cannot send; an operator whose scope is
department A sends only through A's members (and below); recipients lists follow the scope."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import MassMessageRecipient, StaffRole
from scrm.services import mass_messages
from tests.conftest import TEST_CORP_ID
from tests.policy.conftest import sign_in

API = "/console/api/v1/mass-messages"
EVERYONE = ["cust_sales_a", "cust_sales_a1", "cust_sales_b", "cust_shared"]


def body(customers=EVERYONE):
    return {"name": "活动", "text": "你好", "audience": {"external_userids": customers}}


def senders(message_id: int) -> dict[str, str]:
    return dict(db.session.execute(select(MassMessageRecipient.external_userid, MassMessageRecipient.sender)
                                   .where(MassMessageRecipient.mass_message_id == message_id)).all())


def test_a_sales_member_cannot_send_or_read_mass_messages(client, corp):
    token = sign_in(client, "sales_a")
    assert client.post(API, json=body(), headers={"X-CSRF-Token": token}).status_code == 403
    assert client.get(API).status_code == 403


def test_an_operator_of_department_a_reaches_only_a_and_below(client, corp):
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="sales_a2", role="operator", data_scope="department"))
    db.session.commit()
    token = sign_in(client, "sales_a2")
    created = client.post(API, json=body(), headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.get_json()
    mass_messages.build(created.get_json()["id"])
    assert senders(created.get_json()["id"]) == {
        "cust_sales_a": "sales_a", "cust_sales_a1": "sales_a1", "cust_shared": "sales_a"}  # not B's
    sign_in(client, "mgr_b")  # a manager reads: only their members' customers
    listed = client.get(f"{API}/{created.get_json()['id']}/recipients")
    assert listed.status_code == 200 and listed.get_json() == []
    sign_in(client, "op")  # corp scope
    rows = client.get(f"{API}/{created.get_json()['id']}/recipients").get_json()
    assert {r["external_userid"] for r in rows} == {"cust_sales_a", "cust_sales_a1", "cust_shared"}


def test_an_operator_with_corp_scope_reaches_everyone_once(client, corp):
    token = sign_in(client, "op")
    created = client.post(API, json=body(), headers={"X-CSRF-Token": token}).get_json()
    mass_messages.build(created["id"])
    picked = senders(created["id"])
    assert sorted(picked) == sorted(EVERYONE) and picked["cust_sales_b"] == "sales_b"
