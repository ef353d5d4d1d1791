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
    from jobs.periodic import SWEEPS
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
