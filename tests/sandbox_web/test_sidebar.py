"""The service's placeholder sidebar, its JS-SDK stand-in and the sandbox-only JSON endpoints."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import sidebar
from tests.helpers import event_xml, fixture_json, post_callback, run_jobs, wecom_url

STATIC = Path(sidebar.__file__).parent / "static"
EXTERNAL = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"
CHAT = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
XSS = "<img src=x onerror=alert(1)>"
ASSET = re.compile(r"""(?:src|href)="(/sidebar/static/[^"]+)\"""")
SANDBOX_ONLY = ["/sidebar/static/ww-standin.js", f"/sidebar/sandbox/customers/{EXTERNAL}",
                f"/sidebar/sandbox/groups/{CHAT}"]


@pytest.fixture
def sandbox(app):
    app.config["SANDBOX"] = True
    yield app
    app.config["SANDBOX"] = False


def deliver(app, client, xml: str) -> None:
    assert post_callback(client, xml).status_code == 200
    run_jobs(app)


def test_outside_sandbox_mode_the_page_is_a_notice_and_the_sandbox_parts_do_not_exist(client):
    resp = client.get("/sidebar/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "后续版本" in html and "ww-standin" not in html and "<script" not in html
    for path in SANDBOX_ONLY:
        assert client.get(path).status_code == 404, path
    assert client.get("/sidebar/static/sidebar.css").status_code == 200


def test_in_sandbox_mode_the_page_loads_the_stand_in_and_every_asset(sandbox, client):
    html = client.get("/sidebar/").get_data(as_text=True)
    assets = ASSET.findall(html)
    assert assets == ["/sidebar/static/sidebar.css", "/sidebar/static/ww-standin.js",
                      "/sidebar/static/sidebar.js"]
    for asset in assets:
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        resp.close()
    assert re.findall(r"https?://", html) == []
    standin = client.get("/sidebar/static/ww-standin.js").get_data(as_text=True)
    for name in ("register", "getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"):
        assert f"{name}:" in standin
    assert "event.origin !== parentOrigin" in standin


def test_static_files_insert_data_as_text_only():
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text
        # No URL but the example in the stand-in's comment.
        assert re.findall(r"https?://(?!127\.0\.0\.1:5001\))", text) == [], path.name


def test_unknown_customer_or_group_is_a_json_404(sandbox, client):
    for path in SANDBOX_ONLY[1:]:
        resp = client.get(path)
        assert resp.status_code == 404 and resp.is_json
        assert resp.get_json()["code"] == 404
        assert resp.headers["Cache-Control"] == "no-store"


def test_customer_from_a_callback_comes_back_as_the_open_api_detail_with_text_as_data(sandbox, client, wecom):
    reply = fixture_json("wecom/externalcontact_get.json")
    reply["external_contact"]["name"] = XSS
    wecom.add("GET", wecom_url("externalcontact/get"), json=reply)
    deliver(sandbox, client, event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                                       ExternalUserID=EXTERNAL, State="expo"))

    resp = client.get(f"/sidebar/sandbox/customers/{EXTERNAL}?timeline_limit=5")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["name"] == XSS  # data, unchanged: the page inserts it with textContent
    assert {r["userid"] for r in body["relations"]} == {"zhangsan", "rocky"}
    assert any(t["name"] == "重要" for r in body["relations"] for t in r["tags"])
    assert body["timeline"] and len(body["timeline"]) <= 5
    assert set(body) >= {"external_userid", "relations", "groups", "timeline"}
    assert resp.headers["Cache-Control"] == "no-store"
    assert XSS not in client.get("/sidebar/").get_data(as_text=True)


def test_group_from_a_callback_comes_back_as_the_open_api_detail(sandbox, client, wecom):
    reply = fixture_json("wecom/externalcontact_groupchat_get.json")
    reply["group_chat"]["name"] = XSS
    wecom.add("POST", wecom_url("externalcontact/groupchat/get"), json=reply)
    deliver(sandbox, client, event_xml("change_external_chat", "create", ChatId=CHAT))

    resp = client.get(f"/sidebar/sandbox/groups/{CHAT}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["name"] == XSS and body["chat_id"] == CHAT
    assert body["member_count"] == len(body["members"]) > 0


def test_sandbox_endpoints_read_only_the_deployments_corp(sandbox, client, wecom):
    wecom.add("GET", wecom_url("externalcontact/get"), json=fixture_json("wecom/externalcontact_get.json"))
    deliver(sandbox, client, event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                                       ExternalUserID=EXTERNAL))
    sandbox.config["WECOM_CORP_ID"] = "wwsomeothercorp"
    assert client.get(f"/sidebar/sandbox/customers/{EXTERNAL}").status_code == 404
