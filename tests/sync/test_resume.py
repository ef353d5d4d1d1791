"""A run killed in the middle of a stage resumes at that stage and cursor; one sync per corp."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scrm import clock
from scrm.extensions import db
from scrm.models import FollowRelation, GroupChat, SyncRun
from scrm.queueing import get_queue
from scrm.services import sync
from scrm.services.sync import customers as customers_stage
from tests.conftest import TEST_CORP_ID
from tests.helpers import run_jobs

SETUP_CALLS = ["department/list", "user/list", "externalcontact/get_corp_tag_list",
               "externalcontact/get_follow_user_list"]


class Killed(BaseException):
    """The process dies: like SIGKILL, nothing of the sync's own error handling runs."""


def kill_on_page(monkeypatch, page: int) -> None:
    real, applied = customers_stage.apply_contacts, []

    def apply_contacts(*args, **kwargs):
        applied.append(1)
        if len(applied) == page:
            raise Killed()
        return real(*args, **kwargs)

    monkeypatch.setattr(customers_stage, "apply_contacts", apply_contacts)


def killed_run(corp, monkeypatch, sleeps) -> SyncRun:
    kill_on_page(monkeypatch, 2)
    run = sync.start(TEST_CORP_ID, full=True, requested_by="test", enqueue_job=False)
    with pytest.raises(Killed):
        sync.run(run.id, sleep=sleeps, concurrency=1, commit_seconds=0)  # each page its own transaction
    db.session.rollback()  # the half-applied page dies with the process
    monkeypatch.undo()
    return db.session.get(SyncRun, run.id, populate_existing=True)


def committed_groups(run: SyncRun) -> int:
    """Groups the checkpoint says are in (the fake lists 2 per page, cursors "c2", "c4"; 3 in all)."""
    chain = run.checkpoint.get("groups", {}).get("chains", {}).get("0", {"cursor": "", "state": "open"})
    return 3 if chain["state"] == "done" else int(chain["cursor"][1:] or 0)


def test_a_killed_run_keeps_its_place(corp, app, monkeypatch, sleeps):
    run = killed_run(corp, monkeypatch, sleeps)

    assert (run.status, run.stage) == ("running", "customers")
    # the groups stage runs alongside the customers stage (runner.customers_and_groups)
    assert [run.progress[s]["status"] for s in ("staff", "tags", "customers", "groups")] == [
        "done", "done", "running", "running"]
    assert run.checkpoint["customers"]["chains"] == {"0": {"cursor": "c2", "state": "open"}}  # page 1 committed
    assert db.session.query(FollowRelation).count() == 2
    # its heartbeat is fresh: nobody else may take it
    assert sync.run(run.id, sleep=sleeps) == "skipped"


def test_a_stalled_run_resumes_without_redoing_completed_stages(corp, app, monkeypatch, sleeps):
    run = killed_run(corp, monkeypatch, sleeps)
    before = len(corp.calls)
    # the groups stage ran alongside: the groups of its committed list pages are not read again
    groups_in = db.session.query(GroupChat).count()
    assert groups_in == committed_groups(run)
    clock.freeze(run.heartbeat_at + timedelta(minutes=11))  # no heartbeat for 11 minutes

    assert sync.run(run.id, sleep=sleeps, concurrency=1) == "succeeded"

    resumed = corp.calls[before:]
    assert not [path for path, _ in resumed if path in SETUP_CALLS]  # staff, tags, plan: not again
    assert [args["cursor"] for path, args in resumed if path == "externalcontact/batch/get_by_user"] == ["c2", "c4"]
    assert len([path for path, _ in resumed if path == "externalcontact/groupchat/get"]) == 3 - groups_in
    run = db.session.get(SyncRun, run.id, populate_existing=True)
    assert (run.status, run.attempts, run.error_count) == ("succeeded", 2, 0)
    assert db.session.query(FollowRelation).count() == 6
    # nothing was marked gone by the resumed full pass: every relation was seen by this run
    assert set(db.session.scalars(select(FollowRelation.status))) == {"active"}


def test_the_sweep_sends_a_stalled_run_to_a_worker(corp, app, monkeypatch, sleeps):
    run = killed_run(corp, monkeypatch, sleeps)
    later = run.heartbeat_at + timedelta(minutes=11)

    assert sync.resend_jobs(run.heartbeat_at + timedelta(minutes=5)) == 0  # not stale yet
    assert sync.resend_jobs(later) == 1
    assert sync.resend_jobs(later) == 0  # its job is already waiting
    assert get_queue("sync").job_ids == [f"sync-{run.id}-1"]
    clock.freeze(later)
    assert run_jobs(app, queues=("sync",)) == 1

    run = db.session.get(SyncRun, run.id, populate_existing=True)
    assert run.status == "succeeded" and run.attempts == 2
    assert db.session.query(FollowRelation).count() == 6


def test_one_active_sync_per_corp_is_a_database_rule(app):
    db.session.add(SyncRun(corp_id=TEST_CORP_ID, scopes=["tags"], status="running"))
    db.session.commit()
    db.session.add(SyncRun(corp_id=TEST_CORP_ID, scopes=["staff"], status="queued"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # finished runs don't count, nor do other corps' runs
    db.session.add(SyncRun(corp_id=TEST_CORP_ID, scopes=["staff"], status="failed"))
    db.session.add(SyncRun(corp_id="wwothercorp000002", scopes=["staff"], status="queued"))
    db.session.commit()


def test_starting_while_one_runs_raises_already_running(corp, app):
    first = sync.start(TEST_CORP_ID, ["tags"], requested_by="test", enqueue_job=False)
    with pytest.raises(sync.AlreadyRunning) as caught:
        sync.start(TEST_CORP_ID, ["staff"], requested_by="test", enqueue_job=False)
    assert caught.value.run.id == first.id


def test_a_cancelled_run_stops_at_its_next_checkpoint(corp, app, monkeypatch, sleeps):
    run = sync.start(TEST_CORP_ID, requested_by="test", enqueue_job=False)

    def cancel_during(args):
        corp.on_call.pop("externalcontact/batch/get_by_user")
        with app.app_context():
            sync.cancel(run.id)

    corp.on_call["externalcontact/batch/get_by_user"] = cancel_during

    assert sync.run(run.id, sleep=sleeps, concurrency=1) == "lost"
    run = db.session.get(SyncRun, run.id, populate_existing=True)
    assert run.status == "cancelled" and run.finished_at is not None
    assert db.session.query(FollowRelation).count() == 0  # the page in flight was not committed
    # the groups stage, running alongside, stopped with it: neither stage ended
    assert {run.progress[s]["status"] for s in ("customers", "groups")} == {"running"}


def test_a_job_timeout_requeues_the_run_to_continue_in_a_new_job(corp, app, monkeypatch, sleeps):
    from rq.timeouts import JobTimeoutException

    real, applied = customers_stage.apply_contacts, []

    def slow(*args, **kwargs):
        applied.append(1)
        if len(applied) == 2:
            raise JobTimeoutException("Task exceeded maximum timeout value")
        return real(*args, **kwargs)

    monkeypatch.setattr(customers_stage, "apply_contacts", slow)
    run = sync.start(TEST_CORP_ID, requested_by="test", enqueue_job=False)
    with pytest.raises(JobTimeoutException):
        sync.run(run.id, sleep=sleeps, concurrency=1, commit_seconds=0)
    monkeypatch.undo()

    run = db.session.get(SyncRun, run.id, populate_existing=True)
    cursor = run.checkpoint["customers"]["chains"]["0"]["cursor"]
    assert (run.status, run.stage, cursor) == ("queued", "customers", "c2")
    assert get_queue("sync").job_ids == [f"sync-{run.id}-1"]
    assert run_jobs(app, queues=("sync",)) == 1
    run = db.session.get(SyncRun, run.id, populate_existing=True)
    assert run.status == "succeeded" and db.session.query(FollowRelation).count() == 6
