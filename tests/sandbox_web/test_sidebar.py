"""The sidebar page (GET /sidebar/), its assets, the JS-SDK (real or stand-in) and the chat
window's record of what the sidebar sent. The page's behaviour in a browser: tests/browser/."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import sidebar
from sandbox import web
from sandbox.app import create_simulator_app
from scrm.config import override
from tests.sandbox.conftest import FakeClock, make_world
from tests.sidebar.conftest import login

STATIC = Path(sidebar.__file__).parent / "static"
TEMPLATES = Path(sidebar.__file__).parent / "templates"
CHAT_JS = Path(web.__file__).parent / "static" / "chat.js"
PARTS_JS = ["sidebar_timeline.js", "sidebar_library.js"]  # loaded before sidebar.js, which calls them
OWN_JS = ["sidebar.js", *PARTS_JS, "ww-standin.js"]
PAGE_JS = [f"/sidebar/static/{name}" for name in (*PARTS_JS, "sidebar.js")]
VENDOR_SDK = "/sidebar/static/vendor/wecom-jssdk-2.4.4.js"
ASSET = re.compile(r"""(?:src|href)="(/sidebar/static/[^"]+)\"""")
HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
              "DOMParser", "srcdoc", "eval(", "new Function")


@pytest.fixture
def sandbox(app):
    override(app, SANDBOX=True)
    yield app
    override(app, SANDBOX=False)


def page(client) -> str:
    resp = client.get("/sidebar/?ww_parent=http://127.0.0.1:5001")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    return resp.get_data(as_text=True)


def served(client, html: str) -> list[str]:
    assets = ASSET.findall(html)
    for asset in assets:
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        resp.close()
    return assets


@pytest.mark.parametrize("mode", ["production", "sandbox"])
def test_without_a_session_the_page_starts_oauth_and_comes_back_here(app, client, mode):
    override(app, SANDBOX=mode == "sandbox")
    try:
        resp = client.get("/sidebar/?ww_parent=http://127.0.0.1:5001&sop_step=7")
    finally:
        override(app, SANDBOX=False)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/sidebar/oauth/start"
    assert parse_qs(location.query)["next"] == ["/sidebar/?ww_parent=http://127.0.0.1:5001&sop_step=7"]


def test_expired_session_also_starts_oauth(client):
    login(client, "zhangsan", expires_in=-10)
    resp = client.get("/sidebar/")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/sidebar/oauth/start"


def test_outside_sandbox_mode_the_page_loads_the_vendored_jssdk_and_no_stand_in(client):
    login(client, "zhangsan")
    html = page(client)
    assert served(client, html) == ["/sidebar/static/sidebar.css", VENDOR_SDK, *PAGE_JS]
    assert "ww-standin" not in html and "沙盒" not in html
    assert client.get("/sidebar/static/ww-standin.js").status_code == 404
    sdk = client.get(VENDOR_SDK).get_data(as_text=True)
    assert sdk.startswith("var ww=function")  # the IIFE build: a global `ww`
    for name in ("register", "getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"):
        assert f"e.{name}=function" in sdk
    license_text = (STATIC / "vendor" / "LICENSE-wecom-jssdk.txt").read_text(encoding="utf-8")
    assert "MIT License" in license_text and "@wecom/jssdk 2.4.4" in license_text


def test_in_sandbox_mode_the_page_loads_the_stand_in_instead(sandbox, client):
    login(client, "zhangsan")
    html = page(client)
    assert served(client, html) == ["/sidebar/static/sidebar.css", "/sidebar/static/ww-standin.js", *PAGE_JS]
    assert "vendor/" not in html and "沙盒" in html
    standin = client.get("/sidebar/static/ww-standin.js").get_data(as_text=True)
    for name in ("register", "getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"):
        assert f"{name}:" in standin
    assert "event.origin !== parentOrigin" in standin


def test_the_page_names_no_url_elsewhere_and_has_no_inline_script(sandbox, client):
    login(client, "zhangsan")
    for mode in (True, False):
        override(sandbox, SANDBOX=mode)
        html = page(client)
        assert re.findall(r"https?://", html) == []
        assert re.findall(r"\son[a-z]+\s*=", html) == []  # no inline event handlers
        assert re.findall(r"<script(?![^>]*\ssrc=)", html) == []  # every script is a file of ours
        assert 'lang="zh-CN"' in html and "客户侧边栏" in html


def test_old_sandbox_json_endpoints_are_gone(sandbox, client):
    login(client, "zhangsan")
    for path in ("/sidebar/sandbox/customers/wmX", "/sidebar/sandbox/groups/wrX"):
        assert client.get(path).status_code == 404


def test_our_static_files_insert_data_as_text_only_and_load_nothing_from_elsewhere():
    for name in OWN_JS + ["sidebar.css"]:
        text = (STATIC / name).read_text(encoding="utf-8")
        for sink in HTML_SINKS:
            assert sink not in text, (name, sink)
        # No URL but the example origin in the stand-in's comment.
        assert re.findall(r"https?://(?!127\.0\.0\.1:5001\))", text) == [], name
        assert "@import" not in text and "url(" not in text.replace("login_url", ""), name
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, path.name
    # Exactly the files we serve: our own, the vendored SDK and its licence.
    assert sorted(p.name for p in STATIC.iterdir()) == sorted(OWN_JS + ["sidebar.css", "vendor"])
    assert sorted(p.name for p in (STATIC / "vendor").iterdir()) == ["LICENSE-wecom-jssdk.txt",
                                                                      "wecom-jssdk-2.4.4.js"]


def test_the_page_only_calls_endpoints_that_exist(app):
    """Every /sidebar/api/ call in the page's scripts is a route of the app with that method (CONTRACT.md)."""
    js = "".join((STATIC / name).read_text(encoding="utf-8") for name in ("sidebar.js", *PARTS_JS))
    calls = set()
    for method, expr in re.findall(r'request\("(GET|POST|PUT)", ("[^\n]*?)(?:\)\.then|, [a-z{])', js):
        path = re.sub(r"enc\([^)]*\)", "X", expr).replace('" + ', "").replace(' + "', "").strip('"')
        calls.add((method, path.split("?")[0]))
    routes = {(m, re.sub(r"<[^>]+>", "X", str(r)).removeprefix("/sidebar/api/"))
              for r in app.url_map.iter_rules() for m in r.methods or ()}
    assert calls - routes == set()
    assert calls >= {("GET", "customers/X"), ("POST", "customers/X/fetch"), ("PUT", "customers/X/tags"),
                     ("PUT", "customers/X/stage"), ("PUT", "customers/X/fields"), ("PUT", "customers/X/remark"),
                     ("GET", "customers/X/timeline"), ("GET", "customers/X/follow-ups"),
                     ("POST", "customers/X/follow-ups"), ("GET", "groups/X"), ("GET", "contents"),
                     ("POST", "contents/X/sent"), ("GET", "sop-tasks/X"), ("POST", "sop-tasks/X/sent"),
                     ("GET", "jssdk/signature")}


def test_stand_in_and_chat_window_speak_the_same_protocol():
    standin = (STATIC / "ww-standin.js").read_text(encoding="utf-8")
    chat = CHAT_JS.read_text(encoding="utf-8")
    for token in ('"ww-standin:call"', '"ww-standin:reply"'):
        assert token in standin and token in chat
    for method in ("getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"):
        assert f'"{method}"' in chat and f'call("{method}"' in standin
    assert "event.origin !== serviceOrigin" in chat


@pytest.fixture
def sim():
    world = make_world(FakeClock())
    app = create_simulator_app(world, None, blueprints=[web.bp])
    return world, app.test_client()


def test_a_message_the_sidebar_sent_is_recorded_in_the_simulator_feed(sim):
    world, client = sim
    message = {"msgtype": "text", "text": {"content": "<b>您好</b>"}}
    resp = client.post("/sandbox/api/chat-messages", json={"staff": "u1", "external_userid": "wm1", "chat_id": "",
                                                            "text": "<b>您好</b>", "message": message})
    assert resp.status_code == 200
    entries = client.get("/sandbox/api/feed", query_string={"kind": "chat_message"}).get_json()["entries"]
    assert [(e["id"], e["staff"], e["external_userid"], e["text"], e["message"], e["via"]) for e in entries] == [
        (resp.get_json()["id"], "u1", "wm1", "<b>您好</b>", message, "sidebar")]
    assert client.post("/sandbox/api/chat-messages", json={"text": " "}).status_code == 422
    assert client.post("/sandbox/api/chat-messages", data="x").status_code == 422
    assert len(client.get("/sandbox/api/feed", query_string={"kind": "chat_message"}).get_json()["entries"]) == 1
