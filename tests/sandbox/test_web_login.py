"""The simulated WeCom web login page (GET /wwlogin/sso/login, PROTOCOL.md §4.5) the console's
sign-in uses in sandbox mode: the active members to pick, then a code for auth/getuserinfo."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from sandbox.app import create_simulator_app
from scrm.sandbox_corp import SANDBOX_AGENT_ID, SANDBOX_CORP_ID

CALLBACK = "http://127.0.0.1:5000/console/login/wecom/callback"


def login(client, **overrides):
    params = {"login_type": "CorpApp", "appid": SANDBOX_CORP_ID, "agentid": str(SANDBOX_AGENT_ID),
              "redirect_uri": CALLBACK, "state": "S" * 32, "lang": "zh", **overrides}
    return client.get("/wwlogin/sso/login", query_string={k: v for k, v in params.items() if v is not None})


def test_the_page_lists_the_active_members_and_picking_one_signs_in(world, sim):
    leaver = next(s for s in world.staff.values() if s.active)
    world.staff[leaver.userid].left_at = 1
    resp = login(sim.client)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    listed = re.findall(r'data-userid="([^"]+)"\s+href="([^"]+)"', html)
    assert {userid for userid, _ in listed} == {s.userid for s in world.staff.values() if s.active}
    assert leaver.userid not in {userid for userid, _ in listed}
    userid, href = listed[0]
    picked = sim.client.get(unescape(href))
    assert picked.status_code == 302
    location = urlsplit(picked.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["S" * 32]
    assert sim.get("auth/getuserinfo", code=query["code"][0]) == {"errcode": 0, "errmsg": "ok", "userid": userid}
    assert sim.get("auth/getuserinfo", code=query["code"][0])["errcode"] == 40029  # single use
    assert [e["userid"] for e in world.feed.since(0, 1000, kind="web_login")] == [userid]


def test_a_member_who_left_cannot_be_picked(world, sim):
    leaver = next(s for s in world.staff.values() if s.active)
    world.staff[leaver.userid].left_at = 1
    resp = login(sim.client, userid=leaver.userid)
    assert resp.status_code == 403 and "60111" in resp.get_data(as_text=True)


def test_wrong_parameters_are_refused_as_wecom_does(world, sim):
    for overrides, errcode in (({"login_type": "ServiceApp"}, 40058), ({"appid": "wwother"}, 40013),
                               ({"agentid": "1"}, 40056), ({"redirect_uri": "javascript:alert(1)"}, 50001)):
        resp = login(sim.client, **overrides)
        assert resp.status_code == 400 and str(errcode) in resp.get_data(as_text=True), overrides


def test_redirect_uri_must_be_on_the_services_host(world):
    app = create_simulator_app(world)
    app.config["SANDBOX_SERVICE_URL"] = "http://127.0.0.1:5000"
    client = app.test_client()
    assert login(client, redirect_uri="http://evil.example/console/login/wecom/callback").status_code == 400
    assert login(client).status_code == 200


def test_member_names_are_escaped(world, sim):
    member = next(s for s in world.staff.values() if s.active)
    member.name = "<script>alert(1)</script>"
    html = login(sim.client).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
