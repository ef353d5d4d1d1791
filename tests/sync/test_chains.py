"""The customers stage's concurrent chains (one member batch each, its own cursor in the
checkpoint) and its shortcut for relations a page repeats unchanged."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, SyncRun, TimelineEntry
from scrm.services import sync
from scrm.services.sync import customers as customers_stage
from scrm.services.sync import engine
from tests.conftest import TEST_CORP_ID

API = "externalcontact/batch/get_by_user"
MEMBERS = 30  # 3 chains of 10 at concurrency 3


class Killed(BaseException):
    """The process dies: nothing of the sync's own error handling runs."""


@pytest.fixture
def many(fake):
    """30 members with customer contact, 3 relations each: 3 chains of 15 pages (2 per page)."""
    for n in range(MEMBERS):
        fake.add_staff(f"s{n:02d}")
    for n in range(MEMBERS * 3):
        fake.add_customer(f"wm{n:03d}", f"客户{n}", f"s{n % MEMBERS:02d}")
    return fake


def chain_of(args: dict) -> str:
    return args["userid_list"][0]  # the first member names its chain


def committed(run: SyncRun) -> int:
    """Relations the checkpoint says are in: an open chain's cursor is its offset, a done chain's 30."""
    return sum(30 if chain["state"] == "done" else int(chain["cursor"][1:] or 0)
               for chain in run.checkpoint.get("customers", {}).get("chains", {}).values())


def one_transaction(monkeypatch) -> None:
    """With commit_seconds=3600, every page in the run's one transaction on SQLite too: its commit
    before waiting for WeCom's next page (Syncer.waiting, which depends on timing) is off."""
    monkeypatch.setattr(engine.Syncer, "waiting", lambda self: None)


def killed_on_page_12(monkeypatch, sleeps, *, commit_seconds: float) -> SyncRun:
    """A customers-only run at concurrency 3 whose process dies applying its 12th page."""
    real, applied = customers_stage.apply_contacts, []
    if commit_seconds == 3600:
        one_transaction(monkeypatch)

    def apply_contacts(*args, **kwargs):
        applied.append(1)
        if len(applied) == 12:
            raise Killed()
        return real(*args, **kwargs)

    monkeypatch.setattr(customers_stage, "apply_contacts", apply_contacts)
    run = sync.start(TEST_CORP_ID, ["customers"], full=True, requested_by="test", enqueue_job=False)
    with pytest.raises(Killed):
        sync.run(run.id, sleep=sleeps, concurrency=3, commit_seconds=commit_seconds)
    db.session.rollback()
    monkeypatch.undo()
    return db.session.get(SyncRun, run.id, populate_existing=True)


def test_chains_page_concurrently_and_each_keeps_its_own_cursor(many, app, monkeypatch, sleeps):
    run = killed_on_page_12(monkeypatch, sleeps, commit_seconds=0)  # each page its own transaction

    chains = run.checkpoint["customers"]["chains"]
    assert run.checkpoint["customers"]["batch_size"] == 10 and set(chains) == {"0", "1", "2"}
    assert {len(b["userid_list"]) for b in many.called(API)} == {10}
    stored = {key: chain["cursor"] for key, chain in chains.items()}
    assert sum(int(cursor[1:] or 0) for cursor in stored.values()) // 2 == 11  # 11 pages committed
    assert db.session.query(FollowRelation).count() == 22 == committed(run)

    before = len(many.calls)
    clock.freeze(run.heartbeat_at + timedelta(minutes=11))  # stalled: the sweep's rule
    assert sync.run(run.id, sleep=sleeps, concurrency=3) == "succeeded"

    resumed = [args for path, args in many.calls[before:] if path == API]
    first_cursor = {}
    for args in resumed:
        first_cursor.setdefault(chain_of(args), args["cursor"])
    assert first_cursor == {f"s{int(key) * 10:02d}": cursor for key, cursor in stored.items() if cursor != ""} | {
        f"s{int(key) * 10:02d}": "" for key, cursor in stored.items() if cursor == ""}
    assert len(resumed) == 45 - 11  # every page not committed, and none that was
    assert db.session.query(FollowRelation).count() == MEMBERS * 3


@pytest.mark.parametrize("commit_seconds", [0, 3600])  # each page committed; all still in one transaction
def test_a_chain_that_fails_beyond_the_retries_fails_the_run_and_resume_continues_it(many, app, sleeps, monkeypatch,
                                                                                      commit_seconds):
    if commit_seconds == 3600:
        one_transaction(monkeypatch)
    many.fail(API, -1, at_call=8, times=10)  # system busy: 3 chains x 3 retries absorb 9 at most

    run = sync.start(TEST_CORP_ID, ["customers"], full=True, requested_by="test", enqueue_job=False)
    assert sync.run(run.id, sleep=sleeps, concurrency=3, commit_seconds=commit_seconds) == "failed"
    run = db.session.get(SyncRun, run.id, populate_existing=True)
    # the saved checkpoint names exactly what is in the database (pages not committed are not in it)
    assert db.session.query(FollowRelation).count() == committed(run)
    assert (committed(run) == 0) == (commit_seconds == 3600)
    chains = run.checkpoint.get("customers", {}).get("chains", {"0": {"cursor": "", "state": "open"}})
    stored = {key: (chain["cursor"], chain["state"]) for key, chain in chains.items()}
    assert any(state == "open" for _, state in stored.values())
    many._faults.clear()  # WeCom recovers
    before = len(many.calls)

    resumed_run = sync.resume(TEST_CORP_ID, enqueue_job=False)
    assert sync.run(resumed_run.id, sleep=sleeps, concurrency=3) == "succeeded"

    resumed = [args for path, args in many.calls[before:] if path == API]
    for key, (cursor, state) in stored.items():
        calls = [args["cursor"] for args in resumed if chain_of(args) == f"s{int(key) * 10:02d}"]
        if state == "done":
            assert calls == []  # a finished chain is not read again
        else:
            assert calls[0] == cursor  # an open one continues where its last committed page ended
    assert db.session.query(FollowRelation).count() == MEMBERS * 3
    run = db.session.get(SyncRun, run.id, populate_existing=True)
    assert run.status == "succeeded" and run.progress["customers"]["staff_done"] == MEMBERS


def test_pages_sharing_a_transaction_are_read_again_after_a_crash(many, app, monkeypatch, sleeps):
    run = killed_on_page_12(monkeypatch, sleeps, commit_seconds=3600)  # all pages in one transaction
    assert committed(run) == 0 and db.session.query(FollowRelation).count() == 0  # 11 pages died uncommitted

    before = len(many.calls)
    clock.freeze(run.heartbeat_at + timedelta(minutes=11))
    assert sync.run(run.id, sleep=sleeps, concurrency=3, commit_seconds=3600) == "succeeded"

    assert len([args for path, args in many.calls[before:] if path == API]) == 45
    assert db.session.query(FollowRelation).count() == MEMBERS * 3


def test_a_second_sync_writes_only_what_changed(corp, run_sync):
    run_sync(full=True)
    entries = db.session.query(TimelineEntry).count()
    corp.relation("lisi", "wmC4").remark = "新备注"  # changed in WeCom, the callback lost

    second = run_sync(full=True)

    assert second.status == "succeeded"
    assert second.progress["customers"]["unchanged"] == 5
    relation = db.session.scalars(select(FollowRelation).filter_by(userid="lisi", external_userid="wmC4")).one()
    assert relation.remark == "新备注" and relation.seen_run_id == second.id
    assert db.session.query(TimelineEntry).count() == entries + 1
    assert {r.seen_run_id for r in db.session.scalars(select(FollowRelation))} == {second.id}


def test_the_shortcut_compares_what_is_stored_so_a_drifted_row_is_written(corp, run_sync):
    run_sync(full=True)
    customer = db.session.scalars(select(Customer).filter_by(external_userid="wmC1")).one()
    customer.name = "本地改过"  # the database drifted from WeCom (a lost or wrong write)
    db.session.commit()

    second = run_sync(full=True)

    assert second.progress["customers"]["unchanged"] == 5
    db.session.expire_all()
    assert db.session.scalars(select(Customer.name).filter_by(external_userid="wmC1")).one() == "客户一"
