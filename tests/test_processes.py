"""Worker and scheduler processes as the CLI runs them."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.queueing import get_queue
from tests.helpers import event_xml, post_callback


def test_worker_command_in_burst_mode_processes_the_queue(app, client, runner):
    post_callback(client, event_xml("change_future_thing", "appear"))
    result = runner.invoke(args=["scrm", "worker", "callbacks", "--burst"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalars(select(CallbackEvent.status)).one() == "ignored"
    assert get_queue("callbacks").count == 0


def test_scheduler_registers_each_sweep_once_and_only_enqueues(app):
    from scrm.queueing import SWEEPS
    from scrm.worker import build_scheduler

    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {sweep.name for sweep in SWEEPS}
    jobs["sweep-inbox"].func(*jobs["sweep-inbox"].args)
    jobs["sweep-inbox"].func(*jobs["sweep-inbox"].args)  # still queued: not queued twice
    queue = get_queue("periodic")
    assert queue.job_ids == ["periodic-sweep-inbox"]
    job = queue.fetch_job("periodic-sweep-inbox")
    assert job.func_name == "jobs.periodic.run_sweep" and job.args == ["sweep-inbox"]


def test_the_relay_thread_turns_notices_into_jobs_and_stops_when_asked(app, client, redis_client):
    import threading
    import time

    from scrm.services import inbox

    post_callback(client, event_xml("change_future_thing", "appear"))
    row_id = db.session.scalars(select(CallbackEvent.id)).one()
    stop = threading.Event()
    thread = threading.Thread(target=inbox.relay_forever, args=(app, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while get_queue("callbacks").count == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert get_queue("callbacks").job_ids == [f"callback-{row_id}"]
        assert redis_client.llen(inbox.NOTICES) == 0
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
