"""The simulated OAuth2 authorize page (GET /connect/oauth2/authorize, docs/wecom/sidebar.md#oauth)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sandbox.app import create_simulator_app
from scrm.sandbox_corp import SANDBOX_AGENT_ID, SANDBOX_CORP_ID
from tests.sandbox.conftest import api_calls

CALLBACK = "http://127.0.0.1:5000/sidebar/oauth/callback"


def authorize(client, **overrides):
    params = {"appid": SANDBOX_CORP_ID, "redirect_uri": CALLBACK, "response_type": "code",
              "scope": "snsapi_base", "state": "St4te", "agentid": str(SANDBOX_AGENT_ID), **overrides}
    return client.get("/connect/oauth2/authorize", query_string={k: v for k, v in params.items() if v is not None})


def member(world):
    return next(s for s in world.staff.values() if s.active)


def test_issues_a_code_for_the_member_chosen_in_the_chat_window(world, sim):
    staff = member(world)
    sim.client.set_cookie("sandbox_staff", staff.userid)
    resp = authorize(sim.client)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["St4te"]
    [code] = query["code"]
    assert sim.get("auth/getuserinfo", code=code) == {"errcode": 0, "errmsg": "ok", "userid": staff.userid}
    assert sim.get("auth/getuserinfo", code=code)["errcode"] == 40029  # single use
    [entry] = world.feed.since(0, 1000, kind="oauth_authorize")
    assert entry["userid"] == staff.userid


def test_userid_parameter_when_there_is_no_cookie(world, sim):
    staff = member(world)
    resp = authorize(sim.client, userid=staff.userid, state=None,
                     redirect_uri=CALLBACK + "?x=1#frag")
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    query = parse_qs(location.query)
    assert query["x"] == ["1"] and "state" not in query and not location.fragment
    assert sim.get("auth/getuserinfo", code=query["code"][0])["userid"] == staff.userid


def test_cookie_wins_over_the_parameter(world, sim):
    first, second = [s for s in world.staff.values() if s.active][:2]
    sim.client.set_cookie("sandbox_staff", first.userid)
    code = parse_qs(urlsplit(authorize(sim.client, userid=second.userid).headers["Location"]).query)["code"][0]
    assert sim.get("auth/getuserinfo", code=code)["userid"] == first.userid


def test_missing_or_unknown_member_is_a_chinese_page(world, sim):
    missing = authorize(sim.client)
    assert missing.status_code == 403 and "请先在沙盒聊天窗口中选择一位成员" in missing.get_data(as_text=True)
    unknown = authorize(sim.client, userid="<b>nobody</b>")
    page = unknown.get_data(as_text=True)
    assert unknown.status_code == 403 and unknown.mimetype == "text/html"
    assert "沙盒中没有在职成员 &lt;b&gt;nobody&lt;/b&gt;" in page and "<b>nobody" not in page
    assert api_calls(world, "auth/getuserinfo") == []
    assert world.feed.since(0, 1000, kind="oauth_authorize") == []


def test_resigned_member_gets_no_code(world, sim):
    staff = member(world)
    sim.action("staff_leaves", userid=staff.userid)
    resp = authorize(sim.client, userid=staff.userid)
    assert resp.status_code == 403 and "沙盒中没有在职成员" in resp.get_data(as_text=True)


def test_bad_request_parameters(world, sim):
    staff = member(world).userid
    cases = [({"appid": "wwother"}, "40013"), ({"redirect_uri": None}, "50001"),
             ({"redirect_uri": "javascript:alert(1)"}, "50001"), ({"response_type": "token"}, "40058"),
             ({"scope": "snsapi_userinfo"}, "40058")]
    for overrides, errcode in cases:
        resp = authorize(sim.client, userid=staff, **overrides)
        assert resp.status_code == 400, overrides
        assert f"错误码 {errcode}" in resp.get_data(as_text=True)


def test_redirect_uri_must_be_on_the_services_host_when_known(world):
    app = create_simulator_app(world)
    app.config["SANDBOX_SERVICE_URL"] = "http://127.0.0.1:5000"
    client = app.test_client()
    staff = member(world).userid
    other = authorize(client, userid=staff, redirect_uri="http://127.0.0.1:6000/sidebar/oauth/callback")
    assert other.status_code == 400 and "可信域名" in other.get_data(as_text=True)
    assert authorize(client, userid=staff).status_code == 302
