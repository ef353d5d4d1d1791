"""Fixtures for the event handler tests: deliver a callback end to end, stub WeCom replies."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent
from tests.events.support import WeComStub
from tests.helpers import post_callback, run_jobs


@pytest.fixture
def api(wecom) -> WeComStub:
    return WeComStub(wecom)


@pytest.fixture
def deliver(app, client):
    """Post a plaintext callback (encrypted, `times` times), run the queued jobs, and return
    the inbox row."""

    def deliver(xml: str, times: int = 1) -> CallbackEvent:
        for _ in range(times):
            assert post_callback(client, xml).status_code == 200
        db.session.rollback()  # the worker uses its own session; end ours before it writes
        run_jobs(app)
        db.session.expire_all()
        return db.session.scalars(select(CallbackEvent).where(CallbackEvent.payload == xml)).one()

    return deliver

