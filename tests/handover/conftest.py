"""Fixtures for the handover tests: the Open API, and the service linked in-process to the WeCom
simulator (its callbacks into the service's inbox, the service's calls routed to the simulator at
the HTTP boundary), synced once."""
from __future__ import annotations

import pytest

from scrm.services import sync
from scrm.services.sync import runner
from tests.api.factories import gen_token
from tests.conftest import TEST_CORP_ID
from tests.sandbox.conftest import FakeClock, link


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def linked(app, client):
    """(world, actions): the simulator speaks as the TEST corp, both ways; the service synced."""
    world, actions, mock = link(client, FakeClock())
    with mock:
        run = sync.start(TEST_CORP_ID, full=True, requested_by="test", enqueue_job=False)
        runner.run(run.id, concurrency=1)
        yield world, actions
