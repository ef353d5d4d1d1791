"""The service in sandbox mode against an in-process simulator, for churn play: the clock offset
and the simulator's archive source installed as create_app() installs them in sandbox mode, the
nightly churn run on (the other nightly runs off), and every URL under the simulator's origin
(the WeCom API and the chat archive) routed to the simulator's test client.

Use: ``from tests.sandbox.churn_support import played, wall_clock  # noqa: F401 (fixtures)``;
``played`` yields (world, actions). The simulator's clock starts at the wall clock, as the
service's does, so 时间快进 moves both from the same now."""
from __future__ import annotations

import time

import pytest

from scrm import clock as scrm_clock
from scrm import sandbox_clock
from scrm.config import override, settings
from scrm.services.churn import nightly
from scrm.services.events.archive import set_archive_source
from scrm.services.events.sandbox import install_simulator_archive
from tests.conftest import TEST_CORP_ID
from tests.sandbox.conftest import FakeClock, link


@pytest.fixture
def wall_clock() -> FakeClock:
    return FakeClock(time.time())


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
