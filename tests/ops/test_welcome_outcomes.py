"""GET /api/v1/welcome/outcomes: every add's welcome outcome with its latency, filtered and
paginated like the other lists; bad parameters are 422; reads are audited per customer."""
from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import AuditLog, WelcomeMessage
from scrm.services.tokens import create_token
from tests.api.factories import OTHER_CORP_ID, T0
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, run_jobs, wecom_url

PATH = "/api/v1/welcome/outcomes"


def gen_outcome(corp_id: str = TEST_CORP_ID, *, status: str, minutes: int, userid: str = "zhangsan",
                external_userid: str = "wmC1", errcode: int | None = None) -> WelcomeMessage:
    received = T0 + timedelta(minutes=minutes)
    row = WelcomeMessage(corp_id=corp_id, event_id=1000 + minutes + (0 if corp_id == TEST_CORP_ID else 500),
                         userid=userid, external_userid=external_userid, status=status, attempts=1,
                         errcode=errcode, received_at=received, answered_at=received + timedelta(milliseconds=420),
                         latency_ms=420, content={"text": "您好 Alice"})
    db.session.add(row)
    db.session.commit()
    return row


def _get(client, token: str, **query):
    return client.get(PATH, query_string=query, headers={"Authorization": f"Bearer {token}"})


def test_outcomes_list_newest_first_with_latency_and_no_message_text(app, client, admin_token):
    gen_outcome(status="sent", minutes=0, external_userid="wmA")
    gen_outcome(status="too_late", minutes=1, external_userid="wmB", errcode=41050)
    gen_outcome(OTHER_CORP_ID, status="sent", minutes=2)
    resp = _get(client, create_token("bi", TEST_CORP_ID, scope="read"))
    assert resp.status_code == 200
    items = resp.get_json()
    assert [(i["external_userid"], i["status"], i["errcode"]) for i in items] == [
        ("wmB", "too_late", 41050), ("wmA", "sent", None)]
    assert items[1]["latency_ms"] == 420 and items[1]["userid"] == "zhangsan"
    assert items[1]["received_at"] == "2024-05-01T08:30:00Z"
    assert "content" not in items[0] and "Alice" not in resp.get_data(as_text=True)
    assert json.loads(resp.headers["X-Pagination"])["total"] == 2


def test_filters_status_since_until_and_staff(app, client, admin_token):
    gen_outcome(status="sent", minutes=0, external_userid="wmA")
    gen_outcome(status="already_chatting", minutes=10, external_userid="wmB", errcode=41051)
    gen_outcome(status="failed", minutes=20, external_userid="wmC", userid="lisi", errcode=40003)
    gen_outcome(status="sent", minutes=30, external_userid="wmD")

    def ids(**query):
        resp = _get(client, admin_token, **query)
        assert resp.status_code == 200, resp.get_json()
        return [item["external_userid"] for item in resp.get_json()]

    assert ids(status="sent") == ["wmD", "wmA"]
    assert ids(status="already_chatting") == ["wmB"]
    assert ids(since="2024-05-01T08:40:00Z") == ["wmD", "wmC", "wmB"]
    assert ids(since="2024-05-01T08:40:00Z", until="2024-05-01T09:00:00Z") == ["wmC", "wmB"]
    assert ids(userid="lisi") == ["wmC"]
    assert ids(external_userid="wmA") == ["wmA"]
    assert ids(page=2, page_size=3) == ["wmA"]


def test_bad_parameters_are_422(app, client, admin_token):
    for query, field in (({"status": "lost"}, "status"), ({"since": "yesterday"}, "since"),
                         ({"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, "until"),
                         ({"page": 0}, "page"), ({"page_size": 201}, "page_size")):
        resp = _get(client, admin_token, **query)
        assert resp.status_code == 422, query
        assert field in resp.get_json()["errors"]["query"], resp.get_json()


def test_reads_are_audited_per_customer(app, client):
    token = create_token("crm", TEST_CORP_ID, scope="read")
    gen_outcome(status="sent", minutes=0, external_userid="wmA")
    gen_outcome(status="sent", minutes=1, external_userid="wmA")
    gen_outcome(status="failed", minutes=2, external_userid="wmB")
    assert _get(client, token).status_code == 200
    rows = db.session.execute(select(AuditLog.userid, AuditLog.action, AuditLog.target_id)
                              .order_by(AuditLog.target_id)).all()
    assert [(action, target) for _, action, target in rows] == [
        ("api_list_welcome_outcomes", "wmA"), ("api_list_welcome_outcomes", "wmB")]
    assert rows[0].userid.startswith("api-token:") and rows[0].userid.endswith(":crm")


def test_an_add_welcomed_by_the_worker_is_listed_with_its_outcome(app, client, wecom, admin_token):
    wecom.add(responses.POST, wecom_url("externalcontact/send_welcome_msg"),
              json={"errcode": 41051, "errmsg": "customer already chatting"})
    post_callback(client, event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                                    ExternalUserID="wmNEW1", WelcomeCode="CODE1"))
    run_jobs(app, ["welcome"])
    [item] = _get(client, admin_token).get_json()
    assert (item["external_userid"], item["userid"], item["status"], item["errcode"]) == (
        "wmNEW1", "zhangsan", "already_chatting", 41051)
    assert item["latency_ms"] >= 0 and item["answered_at"].endswith("Z")
