"""A fake WeCom at the HTTP boundary (``responses``), replying with tests/fixtures/wecom/<api path>.json."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from scrm.wecom import WeComClient
from tests.helpers import RedisRoundTrips
from tests.helpers import wecom_fixture as fixture

BASE = "http://127.0.0.1:9999/cgi-bin/"
CORP_ID = "ww1436e0e65a779aee"
SECRET = "s3cr3t-app-secret-0123456789abcdefghijkl"


class FakeWeCom:
    def __init__(self, rsps: responses.RequestsMock):
        self.rsps = rsps

    def on(self, method: str, path: str, *replies: dict, **kwargs) -> None:
        """Queue replies for ``path`` (default: its fixture); responses repeats the last one."""
        if kwargs:  # raw responses options: body=Exception, status=502, ...
            self.rsps.add(method, BASE + path, **kwargs)
            return
        for reply in replies or (fixture(path),):
            self.rsps.add(method, BASE + path, json=reply)

    def token(self, *tokens: str) -> None:
        """gettoken answers these tokens in turn (replacing earlier gettoken replies)."""
        self.rsps.remove("GET", BASE + "gettoken")
        self.on("GET", "gettoken", *({**fixture("gettoken"), "access_token": t} for t in tokens or ("TOKEN1",)))

    def calls(self, path: str | None = None) -> list:
        return [c.request for c in self.rsps.calls
                if path is None or urlsplit(c.request.url).path == urlsplit(BASE + path).path]

    @staticmethod
    def params(request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    def body(self, path: str) -> dict:
        (request,) = [r for r in self.calls(path)]
        return json.loads(request.body)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeWeCom(rsps)


@pytest.fixture
def make_client(redis_client):
    def make(**kwargs) -> WeComClient:
        kwargs.setdefault("api_base_url", BASE)
        kwargs.setdefault("redis", redis_client)
        return WeComClient(kwargs.pop("corp_id", CORP_ID), kwargs.pop("secret", SECRET), **kwargs)
    return make


@pytest.fixture
def round_trips(redis_client, redis_url) -> RedisRoundTrips:
    """A Redis client on the test server that records its round trips (redis_client empties it)."""
    counting = RedisRoundTrips(redis_url)
    yield counting
    counting.redis.close()


@pytest.fixture
def client(make_client, fake) -> WeComClient:
    fake.token()
    return make_client(agent_id=1000002)
