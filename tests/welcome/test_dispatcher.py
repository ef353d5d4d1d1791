"""The welcome process's batched loop (scrm/welcome_worker.py): it sends what the view enqueued,
takes a retry off the scheduled registry when it is due, keeps a failed job for `flask scrm
failed`, deletes finished jobs and never sends a welcome twice."""
from __future__ import annotations

import contextlib
import json
import threading
import time
import unittest.mock

import responses
from sqlalchemy import select

from scrm import welcome_worker
from scrm.extensions import db
from scrm.models import WelcomeMessage
from scrm.queueing import enqueue, get_queue
from scrm.services import welcome
from scrm.welcome_worker import WelcomeDispatcher
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, wecom_url

SEND = wecom_url("externalcontact/send_welcome_msg")


def add_event(code: str, external_userid: str) -> str:
    return event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                     ExternalUserID=external_userid, State="", WelcomeCode=code)


def fail_on_purpose(reason: str) -> None:
    """A welcome-queue job that raises (imported by the dispatcher)."""
    raise RuntimeError(reason)


def statuses() -> dict[str, str]:
    db.session.expire_all()
    return {row.external_userid: row.status for row in db.session.scalars(select(WelcomeMessage))}


@contextlib.contextmanager
def running(app):
    """A dispatcher running on a thread of its own for the block, stopped (and joined) after it."""
    dispatcher = WelcomeDispatcher(app, threads=4)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        thread.join(25)
    assert not thread.is_alive()


def wait(done, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    return done()


def run_until(app, done, timeout: float = 20) -> WelcomeDispatcher:
    with running(app) as dispatcher:
        wait(done, timeout)
    return dispatcher


def test_a_burst_is_sent_once_each_and_the_finished_jobs_are_deleted(app, client, wecom, redis_client):
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    for n in range(6):
        post_callback(client, add_event(f"CODE{n}", f"wmC{n}"))
    queue = get_queue("welcome")
    (first_job,) = queue.job_ids[:1]
    enqueue("jobs.welcome.send_welcome", int(first_job.split("-")[1]), queue="welcome",
            job_id="welcome-again")  # the callbacks handler's fallback for an add already queued

    dispatcher = run_until(app, lambda: list(statuses().values()) == ["sent"] * 6)

    assert statuses() == {f"wmC{n}": "sent" for n in range(6)}
    codes = [json.loads(c.request.body)["welcome_code"] for c in wecom.calls if c.request.url.startswith(SEND)]
    assert sorted(codes) == [f"CODE{n}" for n in range(6)]  # the fallback job sent nothing
    assert dispatcher.performed == 7
    assert queue.count == 0 and not redis_client.keys("rq:job:welcome-*")  # finished jobs deleted
    assert redis_client.smembers("rq:workers") == set()  # unregistered on stop


def test_a_retry_is_taken_from_the_scheduled_registry_when_due(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": 41096, "errmsg": "being distributed"})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    post_callback(client, add_event("CODE", "wmRETRY"))

    run_until(app, lambda: statuses() == {"wmRETRY": "sent"})

    db.session.expire_all()
    row = db.session.scalars(select(WelcomeMessage)).one()
    assert (row.status, row.attempts) == ("sent", 2)
    assert get_queue("welcome").scheduled_job_registry.count == 0


def test_a_job_that_raises_is_kept_in_the_failed_registry(app):
    queue = get_queue("welcome")
    enqueue("tests.welcome.test_dispatcher.fail_on_purpose", "boom", queue="welcome", job_id="welcome-bad")

    run_until(app, lambda: queue.failed_job_registry.count == 1)

    assert queue.failed_job_registry.get_job_ids() == ["welcome-bad"]
    assert queue.fetch_job("welcome-bad").get_status() == "failed"


def test_the_warm_up_starts_every_sender_with_its_wecom_client_and_keeps_few_connections(app):
    dispatcher = WelcomeDispatcher(app, threads=6)
    senders: dict[str, object] = {}

    def client_of(_n: int) -> None:
        time.sleep(0.05)  # every thread busy at once: each reports its own client
        with app.app_context():
            senders[threading.current_thread().name] = welcome._client(TEST_CORP_ID)

    with app.app_context():
        before = db.engine.pool.checkedin()
    dispatcher._warm_up()
    with app.app_context():
        opened = db.engine.pool.checkedin() - before
    assert len(dispatcher.pool._threads) == 6  # started now, not one by one in the first burst
    with unittest.mock.patch.object(welcome, "wecom_client", side_effect=AssertionError("a new client")):
        list(dispatcher.pool.map(client_of, range(6)))
    assert len(senders) == 6 and len({id(c) for c in senders.values()}) == 6  # each thread's own, made at warm-up
    assert opened <= welcome_worker.WARM_CONNECTIONS  # the dispatcher's and the settler's, not one per sender
    dispatcher.pool.shutdown()


def test_the_warm_up_goes_on_when_the_corps_cannot_be_read(app, monkeypatch, caplog):
    def broken():
        raise RuntimeError("database not up yet")

    monkeypatch.setattr(welcome_worker, "corps_to_sync", broken)
    dispatcher = WelcomeDispatcher(app, threads=3)
    dispatcher._warm_up()  # does not raise: the first welcomes make their clients
    assert len(dispatcher.pool._threads) == 3
    assert "could not list the corps" in caplog.text
    dispatcher.pool.shutdown()
