"""Console fixtures: a local administrator, a staff member, and helpers that sign in the way a
browser does (the sign-in page's CSRF token, the form, the session cookie)."""
from __future__ import annotations

import re

import pytest

from scrm.extensions import db
from scrm.models import Staff
from scrm.services.console import admins
from tests.conftest import TEST_CORP_ID

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="(?:csrf_token|csrf-token)" (?:value|content)="([0-9a-f]{64})"')


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login_page_token(client, next_url: str | None = None) -> str:
    resp = client.get("/console/login", query_string={"next": next_url} if next_url else None)
    assert resp.status_code == 200
    return csrf_of(resp.get_data(as_text=True))


def password_login(client, username: str = "admin", password: str = PASSWORD, next_url: str | None = None,
                   environ: dict | None = None):
    token = login_page_token(client)
    data = {"csrf_token": token, "username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/console/login", data=data, environ_base=environ or {})


def page_token(client, path: str = "/console/") -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    return csrf_of(resp.get_data(as_text=True))


@pytest.fixture
def admin(app):
    return admins.create(TEST_CORP_ID, "admin", PASSWORD)


@pytest.fixture
def admin_client(client, admin):
    resp = password_login(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"
    return client


@pytest.fixture
def staff(app):
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三", status=1))
    db.session.commit()
    return "zhangsan"
