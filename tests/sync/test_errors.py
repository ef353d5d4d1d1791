"""WeCom errors during a sync: fail_info, rate limits in the middle of a stage, one item failing."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FollowRelation, GroupChat, GroupMember


def test_a_45009_in_the_middle_backs_off_and_the_sync_finishes(corp, run_sync, sleeps):
    corp.fail("externalcontact/batch/get_by_user", 45009, at_call=2)

    run = run_sync()

    assert run.status == "succeeded" and run.error_count == 0
    assert sum(sleeps) == 60  # the ban lasts the minute (docs/wecom/limits.md#rate-limits); nothing really slept
    # the refused page was asked again with the same cursor, then paging went on
    assert [b["cursor"] for b in corp.called("externalcontact/batch/get_by_user")] == ["", "c2", "c2", "c4"]
    assert db.session.query(FollowRelation).count() == 6


def test_system_busy_is_retried_at_most_three_times_then_the_run_fails(corp, run_sync, sleeps):
    corp.fail("externalcontact/get_corp_tag_list", -1, times=4)

    run = run_sync(["tags", "customers"])

    assert run.status == "failed"
    assert sleeps == [1, 2, 4]
    assert len(corp.called("externalcontact/get_corp_tag_list")) == 4
    assert run.errors[-1]["errcode"] == -1 and run.errors[-1]["api"] == "externalcontact/get_corp_tag_list"
    assert run.progress["customers"]["status"] == "pending"  # a failed run stops; --resume continues
    assert corp.called("externalcontact/batch/get_by_user") == []


def test_fail_info_is_recorded_with_the_members(corp, run_sync):
    corp.unlicensed = ["lisi"]

    run = run_sync(["customers"])

    assert run.status == "succeeded"
    (error,) = run.errors  # once per batch, not once per page
    assert error["stage"] == "customers" and error["api"] == "externalcontact/batch/get_by_user"
    assert error["item"] == "lisi" and "fail_info" in error["errmsg"]
    assert run.progress["customers"]["errors"] == 1


def test_one_group_failing_is_recorded_and_the_others_are_synced(corp, run_sync):
    corp.fail_chat("wrG2", 60011)  # e.g. its owner is outside the app's visibility

    run = run_sync(["groups"])

    assert run.status == "succeeded"
    assert [(e["stage"], e["api"], e["errcode"], e["item"]) for e in run.errors] == [
        ("groups", "externalcontact/groupchat/get", 60011, "wrG2")]
    assert set(db.session.scalars(select(GroupChat.chat_id))) == {"wrG1", "wrG3"}
    assert db.session.query(GroupMember).filter_by(chat_id="wrG3").count() == 4


def test_a_batch_refused_for_good_is_recorded_and_the_stage_goes_on(fake, run_sync):
    for n in range(101):
        fake.add_staff(f"s{n:03d}")
    fake.add_customer("wmA", "A", "s000")
    fake.add_customer("wmB", "B", "s100")
    fake.fail("externalcontact/batch/get_by_user", 40058, at_call=1)  # whichever batch asks first

    run = run_sync(["customers"], concurrency=1)

    assert run.status == "succeeded"
    assert [(e["errcode"], e["api"], e["item"]) for e in run.errors] == [
        (40058, "externalcontact/batch/get_by_user", "members s000…")]
    assert run.progress["customers"]["status"] == "done"
    # the first batch (s000-s099) was refused; the second one's customer is in
    assert [r.external_userid for r in db.session.scalars(select(FollowRelation))] == ["wmB"]
