"""Sidebar OAuth2 (snsapi_base): start → WeCom → callback → session → /sidebar/api/me."""
from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import responses
from werkzeug.serving import make_server

from scrm.config import ConfigError, flask_config, load_settings, override
from scrm.extensions import db
from scrm.models import Staff, StaffRole
from sidebar.oauth import login_redirect
from tests.conftest import TEST_AGENT_ID, TEST_CORP_ID, WECOM_BASE
from tests.sidebar.conftest import login

GETUSERINFO = WECOM_BASE + "auth/getuserinfo"


def start(client, next_url: str = "/sidebar/?entry=single_chat_tools") -> tuple[str, dict]:
    resp = client.get("/sidebar/oauth/start", query_string={"next": next_url})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    query = dict(parse_qsl(urlsplit(location).query))
    return location, query


def getuserinfo_replies(wecom, *bodies: dict) -> None:
    for body in bodies:
        wecom.add(responses.GET, GETUSERINFO, json=body)


def calls_to(wecom, url: str) -> list:
    return [c for c in wecom.calls if c.request.url.split("?", 1)[0] == url]


def me(client):
    return client.get("/sidebar/api/me")


def test_start_redirects_to_wecom_authorize_with_every_parameter(client):
    location, query = start(client)
    base, _, fragment = location.partition("#")
    assert base.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?")
    assert fragment == "wechat_redirect"
    # WeCom's documented parameter order; redirect_uri url-encoded.
    assert [k for k, _ in parse_qsl(urlsplit(base).query)] == [
        "appid", "redirect_uri", "response_type", "scope", "state", "agentid"]
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fsidebar%2Foauth%2Fcallback&" in base
    assert query["appid"] == TEST_CORP_ID and query["agentid"] == str(TEST_AGENT_ID)
    assert query["response_type"] == "code" and query["scope"] == "snsapi_base"
    assert re.fullmatch(r"[A-Za-z0-9]{16,128}", query["state"])
    assert start(client)[1]["state"] != query["state"]  # fresh every time


def test_full_flow_signs_in_and_me_answers(client, wecom):
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三"))
    db.session.commit()
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    assert me(client).status_code == 401

    _, query = start(client, "/sidebar/?entry=single_chat_tools&x=1")
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "CODE1", "state": query["state"]})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/sidebar/?entry=single_chat_tools&x=1"
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL is http here
    [call] = calls_to(wecom, GETUSERINFO)
    assert parse_qs(urlsplit(call.request.url).query)["code"] == ["CODE1"]
    with client.session_transaction() as sess:
        assert abs(sess["sidebar"]["exp"] - (time.time() + 8 * 3600)) < 60

    body = me(client)
    assert body.status_code == 200
    assert body.get_json() == {"corp_id": TEST_CORP_ID, "userid": "zhangsan", "name": "张三", "role": "sales",
                               "data_scope": "self", "can_view_mobile": False}


def test_me_reports_the_staff_role(staff_client):
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="manager", data_scope="department",
                             can_view_mobile=True))
    db.session.commit()
    assert me(staff_client).get_json() == {"corp_id": TEST_CORP_ID, "userid": "zhangsan", "name": None,
                                           "role": "manager", "data_scope": "department",
                                           "can_view_mobile": True}


def test_session_lifetime_follows_config(client, wecom, app):
    override(app, SIDEBAR_SESSION_HOURS=2)
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "lisi"})
    _, query = start(client)
    client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    with client.session_transaction() as sess:
        assert abs(sess["sidebar"]["exp"] - (time.time() + 2 * 3600)) < 60


@pytest.mark.parametrize("state", ["", "wrongstate123", None])
def test_bad_or_missing_state_is_400_and_no_session(client, wecom, state):
    start(client)
    params = {"code": "CODE"} if state is None else {"code": "CODE", "state": state}
    resp = client.get("/sidebar/oauth/callback", query_string=params)
    assert resp.status_code == 400
    assert "登录请求已过期或无效" in resp.get_data(as_text=True)
    assert calls_to(wecom, GETUSERINFO) == []
    assert me(client).status_code == 401


def test_callback_without_any_started_flow_is_400(client, wecom):
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "CODE", "state": "abc"})
    assert resp.status_code == 400 and me(client).status_code == 401


def test_state_is_single_use(client, wecom):
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"},
                        {"errcode": 0, "errmsg": "ok", "userid": "attacker"})
    _, query = start(client)
    assert client.get("/sidebar/oauth/callback",
                      query_string={"code": "C1", "state": query["state"]}).status_code == 302
    again = client.get("/sidebar/oauth/callback", query_string={"code": "C2", "state": query["state"]})
    assert again.status_code == 400
    assert me(client).get_json()["userid"] == "zhangsan"
    assert len(calls_to(wecom, GETUSERINFO)) == 1


def test_expired_state_is_400(client, wecom, monkeypatch):
    _, query = start(client)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    assert resp.status_code == 400 and calls_to(wecom, GETUSERINFO) == []


def test_two_flows_pending_at_once_both_complete(client, wecom):
    getuserinfo_replies(wecom, *[{"errcode": 0, "errmsg": "ok", "userid": "zhangsan"}] * 2)
    _, first = start(client, "/sidebar/?entry=single_chat_tools")
    _, second = start(client, "/sidebar/?entry=group_chat_tools")
    assert client.get("/sidebar/oauth/callback", query_string={"code": "A", "state": second["state"]}
                      ).headers["Location"] == "/sidebar/?entry=group_chat_tools"
    assert client.get("/sidebar/oauth/callback", query_string={"code": "B", "state": first["state"]}
                      ).headers["Location"] == "/sidebar/?entry=single_chat_tools"


def test_invalid_code_40029_is_400_with_a_retry_link(client, wecom):
    getuserinfo_replies(wecom, {"errcode": 40029, "errmsg": "invalid code"})
    _, query = start(client, "/sidebar/?entry=normal")
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "OLD", "state": query["state"]})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "40029" in page and "重新登录" in page
    assert 'href="/sidebar/oauth/start?next=/sidebar/?entry%3Dnormal"' in page
    assert me(client).status_code == 401


def test_wecom_unreachable_is_502_not_500(client, wecom):
    getuserinfo_replies(wecom, {"errcode": -1, "errmsg": "system busy"})
    _, query = start(client)
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    assert resp.status_code == 502 and "暂时无法连接企业微信" in resp.get_data(as_text=True)


def test_non_member_is_403(client, wecom):
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "openid": "oAbc", "external_userid": "wmXyz"})
    _, query = start(client)
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    assert resp.status_code == 403
    assert "不是本企业的成员" in resp.get_data(as_text=True)
    assert me(client).status_code == 401


@pytest.mark.parametrize("next_url", ["https://evil.example/sidebar/", "//evil.example/sidebar/",
                                      "/sidebar/../admin", "/api/v1/customers", "/sidebar\\@evil.example",
                                      "javascript:alert(1)"])
def test_open_redirect_attempts_land_on_the_sidebar(client, wecom, next_url):
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    _, query = start(client, next_url)
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    assert resp.status_code == 302 and resp.headers["Location"] == "/sidebar/"


def test_expired_session_is_401_json_with_login_url(client):
    login(client, "zhangsan", expires_in=-1)
    resp = me(client)
    assert resp.status_code == 401
    assert resp.get_json() == {"code": 401, "message": "登录已过期，请重新打开侧边栏",
                               "login_url": "/sidebar/oauth/start"}


def test_login_redirect_points_at_start(app):
    with app.test_request_context("/sidebar/"):
        resp = login_redirect("/sidebar/?entry=single_chat_tools")
        assert resp.status_code == 302
        assert resp.headers["Location"] == "/sidebar/oauth/start?next=/sidebar/?entry%3Dsingle_chat_tools"
        assert login_redirect("https://evil.example/").headers["Location"] == "/sidebar/oauth/start?next=/sidebar/"


# ---- configuration -------------------------------------------------------------------------------

BASE = {"SECRET_KEY": "sidebar-test-secret-key-0123456789abcdef", "REDIS_URL": "redis://localhost/0"}
REAL = {**BASE, "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s",
        "WECOM_TOKEN": "t", "WECOM_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}


def test_oauth_url_config():
    assert load_settings(REAL).wecom_oauth_url == "https://open.weixin.qq.com/connect/oauth2/authorize"
    assert load_settings({**REAL, "WECOM_OAUTH_URL": "https://o.example/a"}).wecom_oauth_url == "https://o.example/a"
    # Sandbox mode: the simulator's origin, wherever its API is.
    assert load_settings(BASE).wecom_oauth_url == "http://127.0.0.1:5001/connect/oauth2/authorize"
    assert load_settings({**BASE, "WECOM_API_BASE_URL": "http://10.0.0.2:7001/cgi-bin/"}
                         ).wecom_oauth_url == "http://10.0.0.2:7001/connect/oauth2/authorize"


def test_session_cookie_config():
    assert load_settings(BASE).sidebar_session_hours == 8
    config = flask_config(load_settings(BASE))
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SECURE"] is False
    https = flask_config(load_settings({**BASE, "SCRM_PUBLIC_URL": "https://scrm.example.com",
                                        "SCRM_SIDEBAR_SESSION_HOURS": "12"}))
    assert https["SESSION_COOKIE_SECURE"] is True
    assert https["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600
    with pytest.raises(ConfigError, match="SCRM_SIDEBAR_SESSION_HOURS"):
        load_settings({**BASE, "SCRM_SIDEBAR_SESSION_HOURS": "soon"})


def test_secure_cookie_when_public_url_is_https(client, wecom, app):
    override(app, PUBLIC_URL="https://scrm.example.com")  # so SESSION_COOKIE_SECURE
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    location, query = start(client)
    assert "redirect_uri=https%3A%2F%2Fscrm.example.com%2Fsidebar%2Foauth%2Fcallback" in location
    resp = client.get("/sidebar/oauth/callback", query_string={"code": "C", "state": query["state"]})
    assert any("Secure" in c for c in resp.headers.getlist("Set-Cookie"))


# ---- against the WeCom simulator (real HTTP between the service and the simulator) -------------

@pytest.fixture
def simulator():
    from sandbox.app import create_simulator_app
    from tests.sandbox.conftest import FakeClock, make_world

    world = make_world(FakeClock(), staff=4, customers=20, groups=2)
    sim_app = create_simulator_app(world)
    server = make_server("127.0.0.1", 0, sim_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield world, sim_app.test_client(), f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_flow_through_the_simulator(app, client, simulator):
    from scrm import sandbox_corp as sandbox

    world, sim_client, base = simulator
    override(app, WECOM_CORP_ID=sandbox.SANDBOX_CORP_ID, WECOM_AGENT_ID=sandbox.SANDBOX_AGENT_ID,
             WECOM_SECRET=sandbox.SANDBOX_SECRET, WECOM_API_BASE_URL=base + "/cgi-bin/",
             WECOM_OAUTH_URL=base + "/connect/oauth2/authorize", SANDBOX=True)
    member = next(s for s in world.staff.values() if s.active)
    location, _ = start(client)
    authorize = urlsplit(location)
    assert f"{authorize.scheme}://{authorize.netloc}" == base
    sim_client.set_cookie("sandbox_staff", member.userid)
    back = sim_client.get(f"{authorize.path}?{authorize.query}")
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/sidebar/oauth/callback"
    resp = client.get(f"{callback.path}?{callback.query}")
    assert resp.status_code == 302 and resp.headers["Location"] == "/sidebar/?entry=single_chat_tools"
    assert me(client).get_json()["userid"] == member.userid
    # The code was used up by the service's auth/getuserinfo.
    retry = client.get(f"{callback.path}?{callback.query}")
    assert retry.status_code == 400


def test_sandbox_chat_window_switching_member_needs_login_again(app, client):
    """The simulator's chat window names the member it plays in the sandbox_staff cookie (same host,
    so the service sees it); GET /sidebar/ runs OAuth again when it no longer matches."""
    from sidebar.oauth import needs_login

    login(client, "zhangsan")
    session_cookie = f"session={client.get_cookie('session').value}"

    def check(cookies: str) -> bool:
        with app.test_request_context("/sidebar/", headers={"Cookie": cookies}):
            return needs_login()

    assert check("") is True
    assert check(session_cookie) is False
    override(app, SANDBOX=False)
    assert check(session_cookie + "; sandbox_staff=lisi") is False  # means nothing outside sandbox mode
    override(app, SANDBOX=True)
    assert check(session_cookie + "; sandbox_staff=lisi") is True
    assert check(session_cookie + "; sandbox_staff=zhangsan") is False
