"""Fixtures for the handover tests: the Open API, and the service linked in-process to the WeCom
simulator (its callbacks into the service's inbox, the service's calls routed to the simulator at
the HTTP boundary), synced once."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import responses

from sandbox.actions import Actions
from sandbox.app import create_simulator_app
from sandbox.callbacks import CallbackSender, flask_client_transport
from scrm.services import sync
from scrm.services.sync import runner
from tests.api.factories import gen_token
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, WECOM_BASE
from tests.sandbox.conftest import FakeClock, make_world


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def linked(app, client):
    """(world, actions): the simulator speaks as the TEST corp, both ways; the service synced."""
    world = make_world(FakeClock(), corp_id=TEST_CORP_ID, secret=TEST_SECRET, token=TEST_TOKEN,
                       aes_key=TEST_AES_KEY)
    sim = create_simulator_app(world).test_client()

    def forward(request):
        url = urlsplit(request.url)
        reply = sim.open(url.path, method=request.method, query_string=url.query, data=request.body or b"")
        return reply.status_code, {"Content-Type": reply.content_type}, reply.data

    sender = CallbackSender("http://service.test/wecom/callback", corp_id=TEST_CORP_ID, token=TEST_TOKEN,
                            aes_key=TEST_AES_KEY, feed=world.feed, transport=flask_client_transport(client),
                            asynchronous=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add_callback(method, re.compile(re.escape(WECOM_BASE) + ".*"), callback=forward)
        run = sync.start(TEST_CORP_ID, full=True, requested_by="test", enqueue_job=False)
        runner.run(run.id, concurrency=1)
        yield world, Actions(world, sender)
