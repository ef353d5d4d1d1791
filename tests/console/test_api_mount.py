"""The console calls the Open API's resources with its session at /console/api/v1: the same views
and validation as /api/v1, behind the console's session and CSRF check instead of a token."""
from __future__ import annotations

from scrm.extensions import db
from scrm.models import StaffRole
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token


def test_without_a_session_the_console_mount_answers_401(client):
    resp = client.get("/console/api/v1/channels")
    assert resp.status_code == 401 and resp.get_json()["login_url"] == "/console/login"


def test_an_administrator_reads_and_writes_through_the_same_validation_as_the_api(admin_client):
    listed = admin_client.get("/console/api/v1/channels")
    assert listed.status_code == 200 and listed.get_json() == []
    token = page_token(admin_client)
    refused = admin_client.post("/console/api/v1/channels", json={"name": ""})
    assert refused.status_code == 400  # no CSRF token: refused before the view
    invalid = admin_client.post("/console/api/v1/channels", json={"name": ""}, headers={"X-CSRF-Token": token})
    assert invalid.status_code == 422
    body = invalid.get_json()
    assert body["code"] == 422 and "name" in body["errors"]["json"]


def test_a_sales_member_is_refused_until_roles_allow_it(client, wecom, staff):
    from tests.console.test_wecom_login import callback, replies, start

    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])
    assert client.get("/console/api/v1/channels").status_code == 403
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="admin", data_scope="corp"))
    db.session.commit()
    assert client.get("/console/api/v1/channels").status_code == 200
