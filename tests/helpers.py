"""Cheap helpers for tests: build callbacks, encrypt them as WeCom does, post, run jobs."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from xml.sax.saxutils import escape

from scrm.wecom.crypto import CallbackCrypto
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN, WECOM_BASE

FIXTURES = Path(__file__).parent / "fixtures"
_nonce = itertools.count(100000)


def event_xml(event: str, change_type: str | None = None, *, corp_id: str = TEST_CORP_ID,
              create_time: int = 1700000000, **fields) -> str:
    """A plaintext 客户联系/通讯录 event as WeCom sends it (self-built app envelope)."""
    parts = [f"<ToUserName><![CDATA[{corp_id}]]></ToUserName>",
             "<FromUserName><![CDATA[sys]]></FromUserName>",
             f"<CreateTime>{create_time}</CreateTime>", "<MsgType><![CDATA[event]]></MsgType>",
             f"<Event><![CDATA[{event}]]></Event>"]
    if change_type:
        parts.append(f"<ChangeType><![CDATA[{change_type}]]></ChangeType>")
    parts += [_element(k, v) for k, v in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


def _element(name: str, value) -> str:
    if isinstance(value, (list, tuple)):
        return f"<{name}>" + "".join(f"<Item><![CDATA[{v}]]></Item>" for v in value) + f"</{name}>"
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    return f"<{name}><![CDATA[{value}]]></{name}>"


def message_xml(msg_type: str, msg_id: str, *, from_user: str = "zhangsan",
                corp_id: str = TEST_CORP_ID, agent_id: int = 1000002, create_time: int = 1700000000,
                **fields) -> str:
    parts = [f"<ToUserName><![CDATA[{corp_id}]]></ToUserName>",
             f"<FromUserName><![CDATA[{escape(from_user)}]]></FromUserName>",
             f"<CreateTime>{create_time}</CreateTime>", f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
    parts += [_element(k, v) for k, v in fields.items()]
    parts += [f"<MsgId>{msg_id}</MsgId>", f"<AgentID>{agent_id}</AgentID>"]
    return "<xml>" + "".join(parts) + "</xml>"


def encrypt(plaintext: str, *, token: str = TEST_TOKEN, aes_key: str = TEST_AES_KEY,
            corp_id: str = TEST_CORP_ID) -> tuple[bytes, dict]:
    """(body, query) of a signed, encrypted POST, as WeCom would send it."""
    nonce, timestamp = str(next(_nonce)), "1700000000"
    body, signature = CallbackCrypto(token, aes_key, corp_id).encrypt(plaintext, nonce, timestamp)
    return body.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def post_callback(client, plaintext: str, path: str = "/wecom/callback", **crypto_kw):
    body, query = encrypt(plaintext, **crypto_kw)
    return client.post(path, data=body, query_string=query, content_type="text/xml")


def run_jobs(app, queues=("callbacks",)) -> int:
    """Run every queued job in-process (burst) and return how many ran."""
    from scrm.services.inbox import relay_notices
    from scrm.worker import make_worker

    if "callbacks" in queues:
        relay_notices()  # as the worker's relay thread would
    worker = make_worker(app, list(queues))
    worker.work(burst=True, with_scheduler=False)
    return worker.performed


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def wecom_url(path: str) -> str:
    return WECOM_BASE + path

