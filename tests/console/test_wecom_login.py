"""WeCom web login (PROTOCOL.md §4.5): the redirect, the single-use state bound to the browser,
auth/getuserinfo (mocked at the HTTP boundary with PROTOCOL.md's reply shapes), the member mapped
to Staff; a member who leaves loses the console at once."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import responses
from sqlalchemy import select, update

from scrm.extensions import db
from scrm.models import ConsoleSession, Staff
from scrm.services import sidebar_session
from tests.conftest import TEST_AGENT_ID, TEST_CORP_ID, WECOM_BASE

GETUSERINFO = WECOM_BASE + "auth/getuserinfo"


def start(client, next_url: str | None = None) -> dict:
    resp = client.get("/console/login/wecom", query_string={"next": next_url} if next_url else None)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://login.work.weixin.qq.com/wwlogin/sso/login"
    return dict(parse_qsl(location.query))


def replies(wecom, *bodies: dict) -> None:
    for body in bodies:
        wecom.add(responses.GET, GETUSERINFO, json=body)


def callback(client, state: str, code: str = "CODE"):
    return client.get("/console/login/wecom/callback", query_string={"code": code, "state": state})


def exchanged_codes(wecom) -> list[str]:
    return [dict(parse_qsl(urlsplit(c.request.url).query))["code"] for c in wecom.calls
            if c.request.url.split("?", 1)[0] == GETUSERINFO]


def test_the_redirect_carries_every_parameter_of_the_corp_app_login(client):
    query = start(client)
    assert query == {"login_type": "CorpApp", "appid": TEST_CORP_ID, "agentid": str(TEST_AGENT_ID),
                     "redirect_uri": "http://127.0.0.1:5000/console/login/wecom/callback",
                     "state": query["state"], "lang": "zh"}
    assert len(query["state"]) == 32 and query["state"].isalnum()
    assert start(client)["state"] != query["state"]


def test_a_valid_code_signs_the_member_in(client, wecom, staff):
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan", "user_ticket": "USER_TICKET"})
    state = start(client, next_url="/console/customers")["state"]
    resp = callback(client, state, code="THE_CODE")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/customers"
    assert exchanged_codes(wecom) == ["THE_CODE"]
    assert client.get("/console/api/me").get_json() == {
        "name": "张三", "kind": "staff", "userid": "zhangsan", "role": "sales", "role_label": "销售"}
    row = db.session.scalar(select(ConsoleSession))
    assert (row.userid, row.admin_id, row.staff_version) == ("zhangsan", None, 0)


def test_a_state_that_does_not_match_is_refused_without_calling_wecom(client, wecom, staff):
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    start(client)
    for state in ("A" * 32, "not-a-state", ""):
        resp = callback(client, state)
        assert resp.status_code == 400 and "登录请求已过期或无效" in resp.get_data(as_text=True)
    assert exchanged_codes(wecom) == []
    assert client.get("/console/api/me").status_code == 401


def test_a_state_works_once_and_only_in_the_browser_it_was_issued_to(app, client, wecom, staff):
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    state = start(client)["state"]
    other = app.test_client()
    other.get("/console/login")  # another browser, with its own pre-sign-in cookie
    assert callback(other, state).status_code == 400  # and the state is used up now
    assert callback(client, state).status_code == 400
    assert exchanged_codes(wecom) == []
    fresh = start(client)["state"]
    assert callback(client, fresh).status_code == 302
    assert callback(client, fresh).status_code == 400  # single use


def test_refusals_a_left_member_an_unknown_one_an_outsider_and_a_wecom_error(client, wecom, staff):
    db.session.add_all([Staff(corp_id=TEST_CORP_ID, userid="lisi", name="李四", status=5),
                        Staff(corp_id=TEST_CORP_ID, userid="wangwu", name="王五", status=1,
                              left_at=db.func.now())])
    db.session.commit()
    cases = [({"errcode": 0, "errmsg": "ok", "userid": "lisi"}, 403, "已停用或已离职"),
             ({"errcode": 0, "errmsg": "ok", "userid": "wangwu"}, 403, "已停用或已离职"),
             ({"errcode": 0, "errmsg": "ok", "userid": "stranger"}, 403, "尚未同步"),
             ({"errcode": 0, "errmsg": "ok", "openid": "OPENID", "external_userid": "wmABC"}, 403, "不是本企业的成员"),
             ({"errcode": 40029, "errmsg": "invalid code"}, 400, "错误码 40029")]
    for body, status, text in cases:
        replies(wecom, body)
        resp = callback(client, start(client)["state"])
        assert resp.status_code == status and text in resp.get_data(as_text=True), body
        assert client.get("/console/api/me").status_code == 401


def test_a_member_who_leaves_loses_the_console_at_once(client, wecom, staff):
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])
    assert client.get("/console/").status_code == 200
    db.session.execute(update(Staff).where(Staff.userid == "zhangsan").values(status=5))  # left (change_contact)
    db.session.commit()
    assert client.get("/console/api/me").status_code == 401
    assert client.get("/console/").headers["Location"].startswith("/console/login")


def test_revoking_a_members_sessions_ends_their_console_session(client, wecom, staff):
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])
    assert client.get("/console/api/me").status_code == 200
    sidebar_session.revoke(TEST_CORP_ID, "zhangsan")  # `flask scrm staff revoke-sessions zhangsan`
    assert client.get("/console/api/me").status_code == 401
