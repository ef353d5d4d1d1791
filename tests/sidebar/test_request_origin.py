"""Sidebar changes only from the sidebar page (a custom header or our own Origin), and who may
frame the sidebar (frame-ancestors): issue #10, security 5."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

import sidebar
from scrm.config import override
from scrm.extensions import db
from scrm.models import AuditLog, FollowUp
from tests.api.factories import gen_customer, gen_relation, gen_staff
from tests.sidebar.conftest import PAGE_HEADER, login

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def bare_client(app):
    """Signed in, but not sending the page's header (a cross-site form or script would not)."""
    client = app.test_client()
    login(client, "zhangsan")
    client.environ_base.pop("HTTP_X_REQUESTED_WITH")
    gen_staff(userid="zhangsan", name="张三")
    gen_relation(gen_customer(external_userid="wmMINE"), "zhangsan")
    return client


def write_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/sidebar/api/"):
            path = re.sub(r"<[^>]*:?(\w+)>", lambda m: "1" if "int" in m.group(0) else "wmMINE", rule.rule)
            routes += [(method, path) for method in sorted(rule.methods & WRITE_METHODS)]
    return routes


def test_every_change_without_the_header_or_our_origin_is_403(app, bare_client):
    routes = write_routes(app)
    assert len(routes) >= 8  # fetch, tags, stage, fields, remark, follow-ups, content sent, SOP task sent
    for method, path in routes:
        for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"},
                        {"X-Requested-With": "XMLHttpRequest"}, {"Origin": "http://127.0.0.1:5000.evil.example"}):
            response = bare_client.open(path, method=method, json={"kind": "note", "content": "x"}, headers=headers)
            assert response.status_code == 403, (method, path, headers)
            assert response.json == {"code": 403, "message": "请求来源不受信任，请在侧边栏页面内操作"}
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_the_page_header_or_our_own_origin_lets_a_change_through(bare_client):
    path, data = "/sidebar/api/customers/wmMINE/follow-ups", {"kind": "note", "content": "回访"}
    assert bare_client.post(path, json=data, headers=PAGE_HEADER).status_code == 201
    assert bare_client.post(path, json=data, headers={"Origin": "http://127.0.0.1:5000"}).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 2


def test_reads_need_no_header(bare_client):
    assert bare_client.get("/sidebar/api/customers/wmMINE").status_code == 200


def test_the_page_sends_the_header_with_every_request():
    js = (Path(sidebar.__file__).parent / "static" / "sidebar.js").read_text(encoding="utf-8")
    assert js.count("fetch(") == 1 and '"X-Requested-With": "scrm-sidebar"' in js


@pytest.mark.parametrize(("sandbox", "ancestors"), [
    (False, "frame-ancestors 'self'"),
    (True, "frame-ancestors 'self' http://127.0.0.1:5001"),  # the simulator's chat window
])
def test_frame_ancestors(app, staff_client, sandbox, ancestors):
    override(app, SANDBOX=sandbox, WECOM_API_BASE_URL="http://127.0.0.1:5001/cgi-bin/")
    page = staff_client.get("/sidebar/")
    api = staff_client.get("/sidebar/api/me")
    oauth = app.test_client().get("/sidebar/oauth/callback", query_string={"state": "x", "code": "y"})
    assert page.status_code == 200
    policy = [part.strip() for part in page.headers["Content-Security-Policy"].split(";")]
    assert "script-src 'self'" in policy and ancestors in policy
    for response in (api, oauth):
        assert response.headers["Content-Security-Policy"] == ancestors
