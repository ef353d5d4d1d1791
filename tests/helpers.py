"""Cheap helpers for tests: build callbacks, encrypt them as WeCom does, post, run jobs."""
from __future__ import annotations

import itertools
import json
import re
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib
from sqlalchemy import event

from sandbox import callback_xml
from scrm.extensions import db
from scrm.wecom.crypto import CallbackCrypto
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN, WECOM_BASE

WECOM_FIXTURES = Path(__file__).parent / "fixtures" / "wecom"
_nonce = itertools.count(100000)


def event_xml(event: str, change_type: str | None = None, *, corp_id: str = TEST_CORP_ID,
              create_time: int = 1700000000, **fields) -> str:
    """A plaintext 客户联系/通讯录 event as WeCom sends it (self-built app envelope)."""
    return callback_xml.event_xml(corp_id, event, change_type, create_time=create_time, **fields)


def message_xml(msg_type: str, msg_id: str, *, from_user: str = "zhangsan",
                corp_id: str = TEST_CORP_ID, agent_id: int = 1000002, create_time: int = 1700000000,
                **fields) -> str:
    """A member's message to the app (MsgId is a number in WeCom's XML)."""
    return callback_xml.message_xml(corp_id, msg_type, from_user=from_user, msg_id=int(msg_id),
                                    agent_id=agent_id, create_time=create_time, **fields)


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


def wecom_fixture(path: str) -> dict:
    """WeCom's reply to API ``path`` (e.g. "externalcontact/get"): tests/fixtures/wecom/<path>.json,
    a fresh copy on every call."""
    return json.loads((WECOM_FIXTURES / f"{path}.json").read_text(encoding="utf-8"))


def wecom_url(path: str) -> str:
    return WECOM_BASE + path



class RedisRoundTrips:
    """A client of the test Redis server that records each round trip it makes (one command, or
    one pipeline's commands, written to the socket) as the list of its command names."""

    _NAME = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")

    def __init__(self, url: str) -> None:
        self.trips: list[list[str]] = []
        pool = redis_lib.ConnectionPool.from_url(url)
        record = self.trips.append
        names = self._NAME

        class Counting(pool.connection_class):
            def send_packed_command(self, command, check_health=True):
                packed = command.encode() if isinstance(command, str) else (
                    command if isinstance(command, bytes) else b"".join(command))
                record([name.decode().upper() for name in names.findall(packed)])
                return super().send_packed_command(command, check_health)

        pool.connection_class = Counting
        self.redis = redis_lib.Redis(connection_pool=pool)

    def clear(self) -> None:
        self.trips.clear()


@contextmanager
def count_queries():
    """The SQL statements the app's engine runs inside the block (a list filled as they run)."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
