"""The service in sandbox mode against an in-process simulator, for churn play: the clock offset
and the simulator's archive source installed as create_app() installs them in sandbox mode, the
nightly churn run on (the other nightly runs off), and every URL under the simulator's origin
(the WeCom API and the chat archive) routed to the simulator's test client.

Use: ``from tests.sandbox.churn_support import played, wall_clock  # noqa: F401 (fixtures)``;
``played`` yields (world, actions). The simulator's clock starts at the wall clock, as the
service's does, so 时间快进 moves both from the same now."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import responses

from sandbox.actions import Actions
from sandbox.app import create_simulator_app
from sandbox.callbacks import CallbackSender, flask_client_transport
from scrm import clock as scrm_clock
from scrm import sandbox_clock
from scrm.config import override, settings
from scrm.services.churn import nightly
from scrm.services.events.archive import set_archive_source
from scrm.services.events.sandbox import install_simulator_archive
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, WECOM_BASE
from tests.sandbox.conftest import FakeClock, make_world

SIMULATOR = urlsplit(WECOM_BASE)._replace(path="").geturl()  # the archive is beside the API


@pytest.fixture
def wall_clock() -> FakeClock:
    return FakeClock(time.time())


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


@pytest.fixture
def played(app, client, wall_clock, monkeypatch):
    override(app, SANDBOX=True, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None, CHURN_SCORING_AT="04:30")
    monkeypatch.setattr(nightly, "real_sleep", lambda seconds: None)
    sandbox_clock.install(app)
    install_simulator_archive(settings(app))
    world, actions, mock = link(client, wall_clock)
    try:
        with mock:
            yield world, actions
    finally:
        scrm_clock.use_offset(None)
        set_archive_source(None, corp_id=TEST_CORP_ID)
