"""JS-SDK signatures: WeCom's published example, corp vs agent ticket, Redis caching, errors."""
from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from scrm.config import override
from sidebar import jssdk
from tests.conftest import TEST_AGENT_ID, TEST_CORP_ID, WECOM_BASE

# docs/wecom/sidebar.md#js-sdk-signature (90506 "JS-SDK使用权限签名算法")
EXAMPLE_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
EXAMPLE_NONCE, EXAMPLE_TIMESTAMP, EXAMPLE_URL = "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com"
EXAMPLE_SIGNATURE = "f4d90daf4b3bca3078ab155816175ba34c443a7b"

CORP_TICKET_URL, AGENT_TICKET_URL = WECOM_BASE + "get_jsapi_ticket", WECOM_BASE + "ticket/get"
PAGE = "http://127.0.0.1:5000/sidebar/?entry=single_chat_tools"


def tickets(wecom, corp: str = "CORP_TICKET", agent: str = "AGENT_TICKET") -> None:
    wecom.add(responses.GET, CORP_TICKET_URL, json={"errcode": 0, "errmsg": "ok", "ticket": corp, "expires_in": 7200})
    wecom.add(responses.GET, AGENT_TICKET_URL, json={"errcode": 0, "errmsg": "ok", "ticket": agent, "expires_in": 7200})


def calls_to(wecom, url: str) -> list:
    return [c for c in wecom.calls if c.request.url.split("?", 1)[0] == url]


def sign(client, kind: str, url: str = PAGE):
    return client.get("/sidebar/api/jssdk/signature", query_string={"type": kind, "url": url})


def sha1(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    return hashlib.sha1(f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}".encode()).hexdigest()


def test_published_example(staff_client, wecom, app, monkeypatch):
    override(app, PUBLIC_URL=EXAMPLE_URL)
    tickets(wecom, corp=EXAMPLE_TICKET)
    monkeypatch.setattr(jssdk, "_nonce", lambda: EXAMPLE_NONCE)
    monkeypatch.setattr(jssdk, "_timestamp", lambda: EXAMPLE_TIMESTAMP)
    resp = sign(staff_client, "corp", EXAMPLE_URL + "#/customer")  # the fragment is not signed
    assert resp.status_code == 200
    assert resp.get_json() == {"corpId": TEST_CORP_ID, "agentId": TEST_AGENT_ID, "timestamp": EXAMPLE_TIMESTAMP,
                               "nonceStr": EXAMPLE_NONCE, "signature": EXAMPLE_SIGNATURE}


def test_corp_and_agent_tickets_for_their_types_and_cached_in_redis(staff_client, wecom, redis_client):
    tickets(wecom)
    corp = [sign(staff_client, "corp").get_json() for _ in range(3)]
    agent = [sign(staff_client, "agent").get_json() for _ in range(3)]
    for body in corp:
        assert body["signature"] == sha1("CORP_TICKET", body["nonceStr"], body["timestamp"], PAGE)
    for body in agent:
        assert body["signature"] == sha1("AGENT_TICKET", body["nonceStr"], body["timestamp"], PAGE)
    assert len({b["nonceStr"] for b in corp + agent}) == 6  # a fresh nonce every time
    assert all(len(b["nonceStr"]) == 16 and b["nonceStr"].isalnum() for b in corp)
    # One WeCom call per ticket, then Redis.
    assert len(calls_to(wecom, CORP_TICKET_URL)) == 1
    [agent_call] = calls_to(wecom, AGENT_TICKET_URL)
    assert parse_qs(urlsplit(agent_call.request.url).query)["type"] == ["agent_config"]
    cached = {k.decode() for k in redis_client.scan_iter("scrm:wecom*ticket*")}
    assert any(k.endswith(f"{TEST_CORP_ID}:jsapi_ticket") for k in cached)
    assert any(k.endswith(f"{TEST_CORP_ID}:{TEST_AGENT_ID}:agent_jsapi_ticket") for k in cached)


def test_only_pages_of_the_public_url_origin_are_signed(staff_client, wecom, app):
    tickets(wecom)
    # The host this request came to is no longer enough (it was before issue #10): only
    # SCRM_PUBLIC_URL's origin is the WeCom app's trusted domain.
    for url in ("http://localhost/sidebar/", "http://127.0.0.1:5001/chat", "https://127.0.0.1:5000/sidebar/",
                "http://127.0.0.1:5000.evil.example/sidebar/", "http://127.0.0.1/sidebar/"):
        resp = sign(staff_client, "agent", url)
        assert resp.status_code == 422 and resp.get_json()["errors"] == {"url": ["只能为本服务的页面签名"]}, url
    assert calls_to(wecom, AGENT_TICKET_URL) == []
    override(app, PUBLIC_URL="https://scrm.example.com")
    body = sign(staff_client, "agent", "https://SCRM.example.com/sidebar/?entry=single_chat_tools").get_json()
    assert body["signature"] == sha1("AGENT_TICKET", body["nonceStr"], body["timestamp"],
                                     "https://SCRM.example.com/sidebar/?entry=single_chat_tools")


@pytest.mark.parametrize(("params", "errors"), [
    ({"type": "corp"}, {"url": ["必填"]}),
    ({"type": "app", "url": PAGE}, {"type": ["必须是 corp 或 agent"]}),
    ({"url": PAGE}, {"type": ["必须是 corp 或 agent"]}),
    ({"type": "corp", "url": "https://evil.example/sidebar/"}, {"url": ["只能为本服务的页面签名"]}),
    ({"type": "corp", "url": "https://127.0.0.1:5000/sidebar/"}, {"url": ["只能为本服务的页面签名"]}),
    ({"type": "corp", "url": "/sidebar/"}, {"url": ["只能为本服务的页面签名"]}),
    ({"type": "x", "url": "#only"}, {"type": ["必须是 corp 或 agent"], "url": ["必填"]}),
])
def test_bad_parameters_are_422_with_field_errors(staff_client, wecom, params, errors):
    resp = staff_client.get("/sidebar/api/jssdk/signature", query_string=params)
    assert resp.status_code == 422
    assert resp.get_json() == {"code": 422, "message": "参数错误", "errors": errors}
    assert calls_to(wecom, CORP_TICKET_URL) == []


def test_wecom_error_is_502_json(staff_client, wecom):
    wecom.add(responses.GET, AGENT_TICKET_URL, json={"errcode": 48002, "errmsg": "api forbidden"})
    resp = sign(staff_client, "agent")
    assert resp.status_code == 502
    assert resp.get_json() == {"code": 502, "message": "企业微信接口错误：api forbidden", "errcode": 48002}


def test_needs_the_staff_session(client, wecom):
    resp = sign(client, "corp")
    assert resp.status_code == 401 and resp.get_json()["login_url"] == "/sidebar/oauth/start"
    assert len(wecom.calls) == 0
