"""`flask scrm sync`: runs here with progress lines, or queues; --only, --full, --resume."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Customer, SyncRun
from scrm.queueing import get_queue
from scrm.services.sync import engine


def runs() -> list[SyncRun]:
    return list(db.session.scalars(select(SyncRun).order_by(SyncRun.id).execution_options(populate_existing=True)))


def test_sync_waits_and_shows_progress_per_stage(runner, corp):
    result = runner.invoke(args=["scrm", "sync", "--only", "tags,customers", "--full"])

    assert result.exit_code == 0, result.output
    (run,) = runs()
    lines = result.output.splitlines()
    assert lines[0] == f"sync run {run.id}: tags, customers (full)"
    assert "  tags: [####################] 3/3 (done)" in lines
    assert "  customers: 6 relations, members 2/2 (done)" in lines
    assert lines[-1] == f"sync run {run.id} succeeded"
    assert (run.status, run.requested_by) == ("succeeded", "cli")
    assert db.session.query(Customer).count() == 5


def test_progress_lines_show_the_stages_that_run_at_once(runner, corp):
    result = runner.invoke(args=["scrm", "sync", "--only", "customers,groups", "--full"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    both = [line for line in lines if "customers:" in line and "groups:" in line]
    assert both, result.output  # the stage a line is about, then the other one running meanwhile
    assert all("; " in line and "(running" in line for line in both)
    assert "  customers: 6 relations, members 2/2 (done)" in lines


def test_no_wait_queues_the_job(runner, corp):
    result = runner.invoke(args=["scrm", "sync", "--no-wait"])

    assert result.exit_code == 0, result.output
    (run,) = runs()
    assert f"sync run {run.id} queued (staff, tags, customers, groups)" in result.output
    assert get_queue("sync").job_ids == [f"sync-{run.id}-0"]
    assert corp.calls == []


def test_refuses_while_another_runs(runner, corp):
    runner.invoke(args=["scrm", "sync", "--no-wait"])

    result = runner.invoke(args=["scrm", "sync", "--only", "tags"])

    assert result.exit_code == 1
    (run,) = runs()
    assert f"already queued or running for this corp (run {run.id})" in result.output


def test_unknown_stage_is_a_usage_error(runner):
    result = runner.invoke(args=["scrm", "sync", "--only", "customers,contacts"])
    assert result.exit_code == 2
    assert "unknown scope(s) contacts" in result.output


def test_resume_continues_a_failed_run_from_its_stage(runner, corp, monkeypatch, sleeps):
    monkeypatch.setattr(engine, "real_sleep", sleeps)
    corp.fail("externalcontact/get_corp_tag_list", -1, times=4)  # WeCom busy: the run fails at "tags"
    failed = runner.invoke(args=["scrm", "sync"])
    assert failed.exit_code == 1
    assert "error [tags] externalcontact/get_corp_tag_list errcode=-1" in failed.output
    assert runs()[0].status == "failed" and sleeps == [1, 2, 4]
    before = len(corp.calls)

    result = runner.invoke(args=["scrm", "sync", "--resume"])

    assert result.exit_code == 0, result.output
    assert [r.status for r in runs()] == ["succeeded"]  # the same run, finished
    assert "department/list" not in corp.paths()[before:]  # staff was done: not read again
    assert "externalcontact/get_corp_tag_list" in corp.paths()[before:]


def test_resume_without_anything_to_resume(runner, corp):
    result = runner.invoke(args=["scrm", "sync", "--resume"])
    assert result.exit_code == 1
    assert "no failed or stalled sync run to resume" in result.output


def test_ctrl_c_cancels_the_run(runner, corp, monkeypatch):
    def interrupted(run_id, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("scrm.services.sync.run", interrupted)

    result = runner.invoke(args=["scrm", "sync", "--only", "tags"])

    assert result.exit_code == 130
    (run,) = runs()
    assert run.status == "cancelled" and f"sync run {run.id} cancelled" in result.output


def test_progress_is_not_interleaved_with_info_logs_but_warnings_still_show(runner, corp, request):
    import io
    import logging

    root = logging.getLogger()
    request.addfinalizer(lambda level=root.level: root.setLevel(level))
    root.setLevel(logging.INFO)  # as with LOG_LEVEL=INFO, the default (the suite runs at WARNING)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_scrm", False))  # the app's console
    console = io.StringIO()
    handler.setStream(console)
    logging.getLogger("scrm.test").info("before the command")  # INFO reaches the console of a process...

    result = runner.invoke(args=["scrm", "sync", "--only", "tags,customers"])
    logging.getLogger("scrm.test").info("info during the command")
    logging.getLogger("scrm.test").warning("WeCom busy, retrying")

    assert result.exit_code == 0, result.output
    assert "  tags: [####################] 3/3 (done)" in result.output.splitlines()
    logged = console.getvalue()
    assert "before the command" in logged
    # ...but while a one-off command prints its progress, only warnings and errors are logged.
    assert "stage tags" not in logged and "info during the command" not in logged
    assert "WeCom busy, retrying" in logged
