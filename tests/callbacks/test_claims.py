"""The claim on an inbox row: a lease renewed while its worker works, given up when the worker
dies, and never two holders applying the row at once."""
from __future__ import annotations

import time
from datetime import timedelta

from rq.job import JobStatus
from sqlalchemy import select, update

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent, Tag
from scrm.queueing import get_queue
from scrm.services import dispatch, inbox
from scrm.services.inbox import processing
from tests.helpers import event_xml, post_callback, run_jobs

FUTURE_EVENT = event_xml("change_future_thing", "appear", Id="42")


def only_row() -> CallbackEvent:
    db.session.expire_all()
    return db.session.scalars(select(CallbackEvent)).one()


def test_a_dead_workers_row_is_enqueued_again_once_its_lease_lapses_whatever_rq_says(app, client):
    post_callback(client, FUTURE_EVENT)
    assert inbox.relay_notices() == 1
    row = only_row()
    now = row.received_at + timedelta(seconds=1)
    clock.freeze(now)
    # A worker took the job and claimed the row, then was SIGKILLed: RQ still says `started`.
    job = get_queue("callbacks").fetch_job(f"callback-{row.id}")
    job.set_status(JobStatus.STARTED)
    assert processing._claim(row.id, "dead-host:1:abc", now, 30)
    get_queue("callbacks").remove(job)

    assert inbox.sweep(now + timedelta(seconds=29)) == 0  # the lease still holds
    later = now + timedelta(seconds=31)
    assert inbox.sweep(later) == 1
    assert inbox.sweep(later) == 0  # that job is waiting: not enqueued twice
    assert get_queue("callbacks").job_ids == [f"callback-{row.id}-lease1"]
    clock.freeze(later)
    assert run_jobs(app) == 1
    row = only_row()
    assert (row.status, row.attempts, row.claimed_by, row.locked_until) == ("ignored", 2, None, None)


def test_a_worker_that_lost_its_claim_rolls_its_work_back(app, client, monkeypatch):
    def handler(ctx):
        db.session.add(Tag(corp_id=ctx.corp_id, tag_id="et-lost"))
        # Meanwhile the lease lapsed and another worker claimed the row.
        with db.engine.begin() as conn:
            conn.execute(update(CallbackEvent).values(claimed_by="other-worker"))

    monkeypatch.setitem(dispatch.HANDLERS, ("change_future_thing", None), handler)
    post_callback(client, FUTURE_EVENT)
    assert inbox.process(only_row().id) == "skipped"
    row = only_row()
    assert (row.status, row.claimed_by) == ("pending", "other-worker")
    assert db.session.scalars(select(Tag)).all() == []


def test_the_lease_is_renewed_while_the_handler_runs(app, client, monkeypatch):
    override(app, INBOX_LEASE_SECONDS=0.3)
    seen = []

    def slow(ctx):
        for _ in range(2):
            with db.engine.connect() as conn:
                seen.append(conn.scalar(select(CallbackEvent.locked_until)))
            time.sleep(0.5)  # real time: the renewing thread runs every 0.1 s

    monkeypatch.setitem(dispatch.HANDLERS, ("change_future_thing", None), slow)
    post_callback(client, FUTURE_EVENT)
    assert inbox.process(only_row().id) == "processed"
    assert seen[1] > seen[0]
    assert only_row().claimed_by is None
