"""The notice relay as the worker runs it: started and stopped explicitly."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.queueing import get_queue
from scrm.services.inbox import NOTICES, NoticeRelay
from tests.faults.support import wait_for
from tests.helpers import event_xml, post_callback


def test_the_relay_turns_notices_into_jobs_until_stopped(app, client, redis_client):
    relay = NoticeRelay(app, block=0.2).start()
    try:
        assert relay.running
        post_callback(client, event_xml("change_future_thing", "appear"))
        row_id = db.session.scalars(select(CallbackEvent.id)).one()
        assert wait_for(lambda: get_queue("callbacks").job_ids == [f"callback-{row_id}"], 10)
        assert redis_client.llen(NOTICES) == 0
    finally:
        relay.stop()
    assert not relay.running
    post_callback(client, event_xml("change_future_thing", "again"))
    assert redis_client.llen(NOTICES) == 1  # stopped: the notice waits for a relay or the sweep
