"""A local administrator signs in with a password: success, failure, the failure limit, session
expiry on the (frozen) clock, sign-out, CSRF."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import ConsoleSession
from scrm.services.console.sessions import token_hash
from tests.console.conftest import PASSWORD, login_page_token, page_token, password_login

WRONG = "用户名或密码错误"


def session_cookie(client):
    return client.get_cookie("scrm_console", path="/console")


def test_success_sets_a_safe_cookie_and_opens_the_console(client, admin):
    resp = password_login(client, next_url="/console/customers")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/customers"
    header = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("scrm_console=")][0]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console" in header
    assert "Secure" not in header  # SCRM_PUBLIC_URL is http here
    cookie = session_cookie(client)
    row = db.session.scalar(select(ConsoleSession))
    assert row.token_hash == token_hash(cookie.value) and cookie.value not in row.token_hash
    assert row.admin_id == admin.id
    assert client.get("/console/api/me").get_json() == {
        "name": "admin", "kind": "admin", "userid": None, "role": "admin", "role_label": "管理员"}
    page = client.get("/console/")
    assert page.status_code == 200 and "工作台" in page.get_data(as_text=True)


def test_the_cookie_is_secure_when_the_public_url_is_https(app, client, admin):
    override(app, PUBLIC_URL="https://scrm.example.com")
    resp = password_login(client)
    header = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("scrm_console=")][0]
    assert "Secure" in header


def test_wrong_password_or_unknown_user_is_one_message(client, admin):
    for username, password in (("admin", "wrong password!"), ("nobody", PASSWORD), ("", "")):
        resp = password_login(client, username, password)
        body = resp.get_data(as_text=True)
        assert resp.status_code in (401, 422)
        assert (WRONG in body) if username else ("请输入用户名和密码" in body)
        assert session_cookie(client) is None
    assert client.get("/console/api/me").status_code == 401
    assert client.get("/console/").headers["Location"].startswith("/console/login?next=")


def test_failures_per_username_lock_it_until_the_window_ends(app, client, admin):
    override(app, CONSOLE_LOGIN_MAX_FAILURES=3, CONSOLE_LOGIN_WINDOW_MINUTES=15)
    clock.freeze(datetime(2026, 12, 3, 10, 2, 0))  # 10:00-10:15 is the window
    for _ in range(3):
        assert WRONG in password_login(client, "admin", "wrong password!").get_data(as_text=True)
    locked = password_login(client)  # the right password, too many failures
    assert locked.status_code == 429
    assert "尝试次数过多，请 13 分钟后再试" in locked.get_data(as_text=True)
    assert session_cookie(client) is None
    clock.freeze(datetime(2026, 12, 3, 10, 14, 30))
    assert "请 1 分钟后再试" in password_login(client).get_data(as_text=True)
    clock.freeze(datetime(2026, 12, 3, 10, 15, 0))  # a new window
    assert password_login(client).status_code == 302


def test_a_success_clears_the_usernames_failures(app, client, admin):
    override(app, CONSOLE_LOGIN_MAX_FAILURES=3)
    clock.freeze(datetime(2026, 12, 3, 10, 2, 0))
    for _ in range(2):
        password_login(client, "admin", "wrong password!")
    assert password_login(client).status_code == 302
    client.post("/console/logout", data={"csrf_token": page_token(client)})
    for _ in range(2):
        password_login(client, "admin", "wrong password!")
    assert password_login(client).status_code == 302  # 2 + 2 failures, never 3 in a row


def test_failures_per_address_lock_every_username_from_it(app, client, admin):
    override(app, CONSOLE_LOGIN_MAX_FAILURES=50, CONSOLE_LOGIN_MAX_FAILURES_PER_IP=4)
    clock.freeze(datetime(2026, 12, 3, 10, 2, 0))
    here, elsewhere = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.2"}
    for n in range(4):
        password_login(client, f"guess{n}", "wrong password!", environ=here)
    assert password_login(client, environ=here).status_code == 429
    assert password_login(client, environ=elsewhere).status_code == 302


def test_the_session_ends_after_its_hours(app, client, admin):
    override(app, CONSOLE_SESSION_HOURS=12)
    clock.freeze(datetime(2026, 12, 3, 8, 0, 0))
    password_login(client)
    clock.freeze(datetime(2026, 12, 3, 19, 59, 0))
    assert client.get("/console/api/me").status_code == 200
    clock.freeze(datetime(2026, 12, 3, 20, 0, 0))
    resp = client.get("/console/api/me")
    assert resp.status_code == 401 and resp.get_json()["message"] == "登录已过期，请重新登录"
    assert client.get("/console/").status_code == 302
    clock.freeze(datetime(2026, 12, 3, 20, 0, 0) + timedelta(minutes=1))
    password_login(client)  # signing in again purges the expired row
    assert db.session.scalar(select(db.func.count()).select_from(ConsoleSession)) == 1


def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(client, admin):
    password_login(client)
    stolen = session_cookie(client).value
    resp = client.post("/console/logout", data={"csrf_token": page_token(client)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/login"
    assert session_cookie(client) is None
    client.set_cookie("scrm_console", stolen, path="/console")
    assert client.get("/console/api/me").status_code == 401
    assert db.session.scalar(select(ConsoleSession)) is None


def test_state_changing_requests_without_the_csrf_token_are_refused(client, admin):
    # Signing in: the form's token is required and bound to this browser's pre-sign-in cookie.
    login_page_token(client)
    resp = client.post("/console/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 400 and "刷新页面" in resp.get_data(as_text=True)
    assert session_cookie(client) is None
    resp = client.post("/console/login", data={"csrf_token": "0" * 64, "username": "admin", "password": PASSWORD})
    assert resp.status_code == 400
    # Signed in: a token from before sign-in no longer works (it is bound to the session).
    old = login_page_token(client)
    password_login(client)
    assert client.post("/console/logout", data={"csrf_token": old}).status_code == 400
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        resp = client.open("/console/api/dashboard", method=method, json={})
        assert resp.status_code == 400 and resp.get_json()["code"] == 400, method
    assert client.get("/console/api/me").status_code == 200  # still signed in
    token = page_token(client)
    resp = client.open("/console/api/dashboard", method="POST", json={}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 405  # past the CSRF check: no such method there
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302


def test_next_only_leads_inside_the_console(client, admin):
    for bad in ("https://evil.example/", "//evil.example/console/", "/console/../api", "/sidebar/"):
        assert password_login(client, next_url=bad).headers["Location"] == "/console/"
        client.post("/console/logout", data={"csrf_token": page_token(client)})
