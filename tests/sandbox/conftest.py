"""Fixtures for the WeCom simulator: a fake clock (no sleeping), a small seeded world, the
simulator app's test client and a tiny WeCom API caller."""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import responses
from werkzeug.serving import make_server

from sandbox.actions import Actions
from sandbox.app import create_simulator_app
from sandbox.callbacks import CallbackSender, flask_client_transport
from sandbox.world import World, WorldConfig
from scrm.sandbox_corp import SANDBOX_CORP_ID, SANDBOX_SECRET
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, WECOM_BASE

T0 = 1_760_000_000.0  # 2025-10-09, a fixed "now" so seeded times are reproducible


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_world(clock: FakeClock, *, staff: int = 8, customers: int = 300, groups: int = 12,
               **config) -> World:
    config.setdefault("groupmsg_dispatch", 0)
    world = World(WorldConfig(**config), now=clock)
    return world.seed(staff=staff, customers=customers, groups=groups, seed=7)


@pytest.fixture
def world(clock) -> World:
    return make_world(clock)


class WeComCaller:
    """Calls the simulated API through a Flask test client, holding an access token."""

    def __init__(self, client):
        self.client = client
        self.token = ""

    def fetch_token(self) -> dict:
        reply = self.client.get("/cgi-bin/gettoken", query_string={
            "corpid": SANDBOX_CORP_ID, "corpsecret": SANDBOX_SECRET}).get_json()
        self.token = reply.get("access_token", "")
        return reply

    def get(self, path: str, **params) -> dict:
        if not self.token:
            self.fetch_token()
        query = {"access_token": self.token, **params}
        return self.client.get("/cgi-bin/" + path, query_string=query).get_json()

    def post(self, path: str, body: dict) -> dict:
        if not self.token:
            self.fetch_token()
        # As wechatpy sends it: UTF-8 JSON bytes, no Content-Type.
        return self.client.post("/cgi-bin/" + path, query_string={"access_token": self.token},
                                data=json.dumps(body, ensure_ascii=False).encode()).get_json()

    def action(self, action: str, /, **params) -> dict:
        resp = self.client.post(f"/sandbox/api/actions/{action}", json=params)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["result"]


def caller_for(world: World, **app_kwargs) -> WeComCaller:
    return WeComCaller(create_simulator_app(world, **app_kwargs).test_client())


@pytest.fixture
def sim(world) -> WeComCaller:
    return caller_for(world)


def api_calls(world: World, path: str | None = None) -> list[dict]:
    return [e for e in world.feed.since(0, 100000, kind="api_call") if path is None or e["path"] == path]


@pytest.fixture
def serve() -> Iterator:
    """serve(wsgi_app) → base URL of a real threaded HTTP server on a free port."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


SIMULATOR = urlsplit(WECOM_BASE)._replace(path="").geturl()  # the WeCom API, and the chat archive beside it


def link(client, clock: FakeClock):
    """(world, actions, mock): the simulator speaks as the TEST corp both ways; enter ``mock``
    to route its origin to it."""
    world = make_world(clock, corp_id=TEST_CORP_ID, secret=TEST_SECRET, token=TEST_TOKEN, aes_key=TEST_AES_KEY)
    sim = create_simulator_app(world).test_client()

    def forward(request):
        url = urlsplit(request.url)
        reply = sim.open(url.path, method=request.method, query_string=url.query, data=request.body or b"")
        return reply.status_code, {"Content-Type": reply.content_type}, reply.data

    sender = CallbackSender("http://service.test/wecom/callback", corp_id=TEST_CORP_ID, token=TEST_TOKEN,
                            aes_key=TEST_AES_KEY, feed=world.feed, transport=flask_client_transport(client),
                            asynchronous=False)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    for method in ("GET", "POST"):
        mock.add_callback(method, re.compile(re.escape(SIMULATOR) + "/.*"), callback=forward)
    return world, Actions(world, sender), mock
