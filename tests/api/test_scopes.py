"""Open API token scopes and expiry (issue #10, security 8), and integers out of range
(security 7): never a 500."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import ApiToken, Staff, StaffRole
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_read_token_reads_but_cannot_write_or_change_roles(client):
    token = create_token("bi", TEST_CORP_ID, scope="read")
    assert client.get("/api/v1/customers", headers=_headers(token)).status_code == 200
    resp = client.put("/api/v1/staff-roles/zhangsan", json={"role": "admin", "data_scope": "corp"},
                      headers=_headers(token))
    assert resp.status_code == 403
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert client.post("/api/v1/funnel-stages", json={"name": "复购"}, headers=_headers(token)).status_code == 403
    assert db.session.scalar(select(StaffRole)) is None


def test_write_token_writes_but_cannot_change_roles(client):
    token = create_token("ops", TEST_CORP_ID, scope="write")
    assert client.post("/api/v1/funnel-stages", json={"name": "复购"}, headers=_headers(token)).status_code == 201
    assert client.put("/api/v1/staff-roles/zhangsan", json={"role": "admin", "data_scope": "corp"},
                      headers=_headers(token)).status_code == 403
    assert db.session.scalar(select(StaffRole)) is None


def _member(userid: str) -> None:
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=userid, status=1))
    db.session.commit()


def test_admin_token_changes_roles(client):
    _member("zhangsan")
    token = create_token("root", TEST_CORP_ID, scope="admin")
    resp = client.put("/api/v1/staff-roles/zhangsan", json={"role": "admin", "data_scope": "corp"},
                      headers=_headers(token))
    assert resp.status_code == 200
    assert client.delete("/api/v1/staff-roles/zhangsan", headers=_headers(token)).status_code == 204


def test_expired_token_is_401(client):
    token = create_token("temp", TEST_CORP_ID, scope="read", expires_in_days=30)
    assert client.get("/api/v1/customers", headers=_headers(token)).status_code == 200
    clock.freeze(clock.utcnow() + timedelta(days=30, seconds=1))
    try:
        resp = client.get("/api/v1/customers", headers=_headers(token))
    finally:
        clock.freeze(None)
    assert resp.status_code == 401


def test_cli_creates_scoped_expiring_token(runner, client):
    result = runner.invoke(args=["scrm", "token", "create", "bi", "--scope", "read", "--expires-in-days", "30"])
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(ApiToken).filter_by(name="bi"))
    assert row.scope == "read"
    assert timedelta(days=29) < row.expires_at - row.created_at <= timedelta(days=30)
    token = result.output.strip()
    assert client.delete("/api/v1/funnel-stages/1", headers=_headers(token)).status_code == 403


def test_tokens_without_a_scope_are_admin(client):
    from tests.api.factories import gen_token  # rows written as before: no scope given

    token = gen_token()
    assert db.session.scalar(select(ApiToken.scope)) == "admin"
    _member("lisi")
    assert client.put("/api/v1/staff-roles/lisi", json={"role": "manager", "data_scope": "department"},
                      headers=_headers(token)).status_code == 200


HUGE = "99999999999999999999"


@pytest.mark.parametrize(("method", "path"), [
    ("patch", f"/api/v1/funnel-stages/{HUGE}"), ("delete", f"/api/v1/custom-fields/{HUGE}"),
    ("get", f"/api/v1/sops/{HUGE}"), ("post", f"/api/v1/sops/{HUGE}/pause"), ("get", f"/api/v1/contents/{HUGE}"),
    ("get", f"/api/v1/channels/{HUGE}"), ("patch", f"/api/v1/welcome-templates/{HUGE}"),
    ("get", f"/api/v1/media/{HUGE}"), ("get", f"/api/v1/syncs/{HUGE}"), ("get", f"/api/v1/events/{HUGE}"),
    ("get", "/api/v1/events/2147483648"), ("get", "/api/v1/sops/-1"),
])
def test_ids_out_of_range_are_404(client, method, path):
    token = create_token("t", TEST_CORP_ID)
    kwargs = {"json": {}} if method == "patch" else {}
    assert getattr(client, method)(path, headers=_headers(token), **kwargs).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/groups", "/api/v1/events",
                                  "/api/v1/contents", "/api/v1/syncs",
                                  "/api/v1/follow-ups", "/api/v1/audit-log"])
@pytest.mark.parametrize("page", [HUGE, "-1", "0", "9223372036854775807"])
def test_page_out_of_range_is_422(client, path, page):
    token = create_token("t", TEST_CORP_ID)
    resp = client.get(path, query_string={"page": page}, headers=_headers(token))
    assert resp.status_code == 422
    assert "page" in resp.get_json()["errors"]["query"]


def test_page_size_out_of_range_is_422(client):
    token = create_token("t", TEST_CORP_ID)
    resp = client.get("/api/v1/customers", query_string={"page_size": HUGE}, headers=_headers(token))
    assert resp.status_code == 422


def test_request_bodies_are_limited(app, client):
    token = create_token("t", TEST_CORP_ID)
    assert app.config["MAX_CONTENT_LENGTH"] <= 2 * 1024 * 1024
    resp = client.post("/api/v1/funnel-stages", data=b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 1) + b"}",
                       content_type="application/json", headers=_headers(token))
    assert resp.status_code == 413


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/funnel-stages", {"name": "复购", "order": int(HUGE)}),
    ("post", "/api/v1/custom-fields", {"key": "k1", "label": "L", "type": "text", "order": -int(HUGE)}),
    ("post", "/api/v1/channels", {"name": "c", "type": 1, "scene": 2, "userids": ["zhangsan"],
                                  "welcome_template_id": int(HUGE)}),
])
def test_numbers_out_of_range_in_bodies_are_422(client, method, path, body):
    token = create_token("t", TEST_CORP_ID)
    resp = getattr(client, method)(path, json=body, headers=_headers(token))
    assert resp.status_code == 422, resp.get_json()
