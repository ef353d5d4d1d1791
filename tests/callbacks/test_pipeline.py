"""From the inbox to a processed row: workers, sweeps, outages."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from sqlalchemy import select

from sandbox.embedded_redis import EmbeddedRedis
from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.queueing import get_queue
from scrm.services import inbox
from tests.helpers import event_xml, message_xml, post_callback, run_jobs

# An event no handler knows: it is stored and then marked ignored (no WeCom call needed).
FUTURE_EVENT = event_xml("change_future_thing", "appear", Id="42")


def only_row() -> CallbackEvent:
    db.session.expire_all()
    return db.session.scalars(select(CallbackEvent)).one()


def test_worker_marks_unknown_event_ignored(app, client):
    assert post_callback(client, FUTURE_EVENT).status_code == 200
    assert run_jobs(app) == 1
    row = only_row()
    assert row.status == "ignored"
    assert row.attempts == 1
    assert row.processed_at is not None


def test_processing_twice_applies_once(app, client):
    post_callback(client, FUTURE_EVENT)
    event_id = only_row().id
    assert inbox.process(event_id) == "ignored"
    assert inbox.process(event_id) == "skipped"
    assert only_row().attempts == 1


def test_messages_dedupe_on_msgid(app, client):
    first = message_xml("text", "4561255354251345929", Content="hello")
    retry_with_other_time = message_xml("text", "4561255354251345929", Content="hello",
                                        create_time=1700000009)
    post_callback(client, first)
    post_callback(client, retry_with_other_time)
    post_callback(client, message_xml("text", "4561255354251345930", Content="hello"))
    assert db.session.scalar(select(db.func.count()).select_from(CallbackEvent)) == 2


def test_redis_down_during_callback_loses_nothing(app, client, tmp_path):
    server = EmbeddedRedis(directory=str(tmp_path / "redis")).start()
    try:
        from scrm.app import create_app

        outage_app = create_app({"REDIS_URL": server.url, "TESTING": True})
        server.stop()  # Redis goes away before the callback arrives
        with outage_app.app_context():
            resp = post_callback(outage_app.test_client(), FUTURE_EVENT)
            assert resp.status_code == 200  # acknowledged: the row is committed
        row = only_row()
        assert row.status == "pending"

        server.start()  # Redis is back; the sweep finds the row
        with outage_app.app_context():
            later = (row.received_at + timedelta(minutes=5)).isoformat()
            result = outage_app.test_cli_runner().invoke(args=["scrm", "tick", "--now", later])
            assert result.exit_code == 0, result.output
            assert json.loads(result.output)["sweep-inbox"] == 1
            assert run_jobs(outage_app) == 1
        assert only_row().status == "ignored"
    finally:
        server.cleanup()


def test_sweep_waits_before_reenqueueing_and_skips_queued_jobs(app, client, redis_client):
    post_callback(client, FUTURE_EVENT)
    row = only_row()
    redis_client.delete(inbox.NOTICES)  # as if the notice was lost
    assert inbox.sweep(row.received_at + timedelta(seconds=5)) == 0  # too fresh
    assert inbox.sweep(row.received_at + timedelta(seconds=60)) == 1
    assert inbox.sweep(row.received_at + timedelta(seconds=61)) == 0  # already queued
    assert get_queue("callbacks").count == 1


def test_database_down_spools_and_the_sweep_imports(app, client, tmp_path):
    from scrm.app import create_app

    spool_dir = tmp_path / "spool"
    down = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/scrm.db",
                       "SPOOL_DIR": str(spool_dir), "TESTING": True})
    with down.app_context():
        web = down.test_client()
        assert post_callback(web, FUTURE_EVENT).status_code == 200
        assert post_callback(web, FUTURE_EVENT).status_code == 200  # WeCom's retry
    lines = [line for f in os.listdir(spool_dir) for line in open(spool_dir / f)]
    assert len(lines) == 2 and json.loads(lines[0])["payload"] == FUTURE_EVENT

    override(app, SPOOL_DIR=str(spool_dir))
    result = app.test_cli_runner().invoke(args=["scrm", "tick"])
    assert json.loads(result.output)["drain-spool"] == 1
    assert os.listdir(spool_dir) == []
    assert run_jobs(app) == 1
    assert only_row().status == "ignored"


def test_the_drain_spool_command_imports_this_hosts_spool(app, tmp_path):
    """A web host whose spool no worker sees drains it with `flask scrm drain-spool`."""
    from scrm.app import create_app

    spool_dir = tmp_path / "web-host-spool"
    down = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/scrm.db",
                       "SPOOL_DIR": str(spool_dir), "TESTING": True})
    with down.app_context():
        assert post_callback(down.test_client(), FUTURE_EVENT).status_code == 200
    assert os.listdir(spool_dir)

    override(app, SPOOL_DIR=str(spool_dir))
    result = app.test_cli_runner().invoke(args=["scrm", "drain-spool"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("drained 1 spooled callback(s)")
    assert os.listdir(spool_dir) == []
    assert run_jobs(app) == 1
    assert only_row().status == "ignored"


def test_database_and_spool_down_is_503_so_wecom_retries(app, tmp_path):
    from scrm.app import create_app

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    down = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/scrm.db",
                       "SPOOL_DIR": str(blocker / "spool"), "TESTING": True})
    with down.app_context():
        assert post_callback(down.test_client(), FUTURE_EVENT).status_code == 503


def test_retryable_failure_backs_off_then_fails_after_the_cap(app, client, monkeypatch):
    from scrm.services import dispatch

    calls = []

    def flaky(ctx):
        calls.append(ctx.attempts)
        raise dispatch.RetryLater("not yet", delay=10)

    monkeypatch.setitem(dispatch.HANDLERS, ("change_future_thing", None), flaky)
    post_callback(client, FUTURE_EVENT)
    event_id = only_row().id
    now = datetime(2030, 1, 1)
    for _ in range(inbox.MAX_ATTEMPTS):
        clock.freeze(now)
        assert inbox.process(event_id) in ("pending", "failed")
        assert inbox.process(event_id) == "skipped"  # locked until the retry time
        now += timedelta(seconds=11)
    row = only_row()
    assert calls == list(range(1, inbox.MAX_ATTEMPTS + 1))
    assert row.status == "failed" and row.last_error == "not yet"


def test_permanent_failure_is_recorded_not_retried(app, client, monkeypatch):
    from scrm.services import dispatch

    def broken(ctx):
        raise KeyError("UserID")

    monkeypatch.setitem(dispatch.HANDLERS, ("change_future_thing", None), broken)
    post_callback(client, FUTURE_EVENT)
    assert run_jobs(app) == 1
    row = only_row()
    assert row.status == "failed"
    assert "KeyError" in row.last_error
    assert get_queue("callbacks").count == 0


def test_tick_runs_every_sweep(runner):
    result = runner.invoke(args=["scrm", "tick", "--now", "2030-01-01T00:00:00+00:00"])
    assert result.exit_code == 0
    from scrm.queueing import SWEEPS

    results = json.loads(result.output)
    assert set(results) == {sweep.name for sweep in SWEEPS}
    assert (results["drain-spool"], results["sweep-inbox"]) == (0, 0)


def test_database_errors_in_a_handler_are_retried_not_failed(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from scrm.services import dispatch

    def db_gone(ctx):
        raise OperationalError("UPDATE customer", {}, Exception("server closed the connection"))

    monkeypatch.setitem(dispatch.HANDLERS, ("change_future_thing", None), db_gone)
    post_callback(client, FUTURE_EVENT)
    assert run_jobs(app) == 1
    row = only_row()
    assert row.status == "pending" and "server closed" in row.last_error
    assert row.locked_until > row.received_at  # the retry waits for its backoff
