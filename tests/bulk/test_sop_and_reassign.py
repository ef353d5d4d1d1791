"""Bulk start_sop (enrolment of existing relations, anchored at the start, already-enrolled and
non-matching ones skipped with the reason) and reassign (在职转接 through approved handover batches,
one per current owner, the items following the transfers; WeCom's 2 transfers per 90 days).
WeCom is mocked at the HTTP boundary (PROTOCOL.md's transfer_customer / transfer_result shapes)."""
from __future__ import annotations

from datetime import datetime, timedelta

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import (
    BatchStatus,
    BulkJob,
    FollowRelation,
    HandoverBatch,
    HandoverItem,
    SopEnrollment,
    SopTask,
)
from scrm.services.bulk import reassign, running
from tests.bulk.conftest import T0, bodies, items, start
from tests.conftest import TEST_CORP_ID
from tests.welcome.support import OK, url

TRANSFER, RESULT = "externalcontact/transfer_customer", "externalcontact/transfer_result"
STEPS = [{"name": "问候", "delay_minutes": 120, "delivery": "mass_send", "text": "您好，{staff_name}为您服务"},
         {"name": "早上回访", "day_offset": 0, "at_time": "09:00", "delivery": "reminder", "text": "回访"},
         {"name": "次日回访", "day_offset": 1, "at_time": "10:00", "delivery": "reminder", "text": "回访"}]


def make_sop(api, **conditions) -> dict:
    created = api("POST", "/sops", json={"name": "老客激活", "conditions": conditions, "steps": STEPS})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_start_sop_enrols_existing_relations_from_now_and_skips_enrolled_ones(app, api, world, tick):
    sop = make_sop(api)
    db.session.add(SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop["id"], userid="zhangsan", external_userid="wmA",
                                 added_at=T0 - timedelta(days=30), status="completed"))
    db.session.commit()
    created = start(api, "start_sop", sop_id=sop["id"])
    assert created["params"] == {"sop_id": sop["id"], "sop_name": "老客激活"}
    tick(T0)
    got = items(created["id"])
    assert got.pop(("zhangsan", "wmA")) == ("skipped", "已在该 SOP 中（每位客户只会执行一次）")
    assert set(got.values()) == {("done", None)}
    due = {(t.userid, t.external_userid, t.due_at) for t in db.session.scalars(
        select(SopTask).where(SopTask.sop_id == sop["id"]))}
    day1 = datetime(2026, 12, 11, 2, 0)  # 10:00 the next day in Shanghai; today's 09:00 is past: left out
    assert due == {(u, e, when) for u, e in (("zhangsan", "wmB"), ("zhangsan", "wmC"), ("lisi", "wmB"),
                                             ("lisi", "wmD")) for when in (T0 + timedelta(hours=2), day1)}
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["done"], job["skipped"], job["percent"]) == ("done", 4, 1, 100.0)
    again = start(api, "start_sop", customers=("wmD",), sop_id=sop["id"])
    tick(T0 + timedelta(minutes=1))
    assert items(again["id"]) == {("lisi", "wmD"): ("skipped", "已在该 SOP 中（每位客户只会执行一次）")}


def test_start_sop_skips_relations_not_matching_its_conditions(app, api, world, tick):
    sop = make_sop(api, userids=["lisi"])
    created = start(api, "start_sop", customers=("wmB",), sop_id=sop["id"])
    tick(T0)
    assert items(created["id"]) == {("zhangsan", "wmB"): ("skipped", "不符合该 SOP 的适用条件（渠道、标签或成员）"),
                                    ("lisi", "wmB"): ("done", None)}
    assert db.session.scalars(select(SopEnrollment.userid).filter_by(sop_id=sop["id"])).all() == ["lisi"]


def test_start_sop_fails_the_job_when_the_sop_is_deleted_meanwhile(app, api, world, tick):
    sop = make_sop(api)
    created = start(api, "start_sop", sop_id=sop["id"])
    assert api("DELETE", f"/sops/{sop['id']}").status_code in (200, 204)
    tick(T0)
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["error"], job["failed"]) == ("failed", "SOP 已删除", 5)


def test_reassign_hands_over_through_approved_batches_and_follows_the_transfers(app, api, world, wecom, tick):
    # wmD was already transferred twice in the last 90 days: WeCom's limit, checked before calling
    for days in (10, 20):
        old = HandoverBatch(corp_id=TEST_CORP_ID, kind="onjob", handover_userid="lisi", rule="manual", status="done")
        db.session.add(old)
        db.session.flush()
        db.session.add(HandoverItem(corp_id=TEST_CORP_ID, batch_id=old.id, target="customer", target_id="wmD",
                                    takeover_userid="lisi", status="done", started_at=T0 - timedelta(days=days)))
    db.session.commit()
    wecom.add(responses.POST, url(TRANSFER), json={**OK, "customer": [
        {"external_userid": e, "errcode": 0} for e in ("wmA", "wmB", "wmC")]})
    created = start(api, "reassign", customers=("wmA", "wmB", "wmC", "wmD", "wmE"), takeover_userid="wangwu",
                    transfer_success_msg="您好，之后由王五为您服务")
    tick(T0)
    batches = {b.handover_userid: b for b in db.session.scalars(select(HandoverBatch).filter_by(
        created_by=f"bulk:{created['id']}"))}
    assert sorted(batches) == ["lisi", "zhangsan"]
    assert all((b.kind, b.approved_by, b.status) == ("onjob", created["created_by"], BatchStatus.RUNNING)
               for b in batches.values())
    sent = {b["handover_userid"]: (b["takeover_userid"], b["external_userid"], b["transfer_success_msg"])
            for b in bodies(wecom, TRANSFER)}
    assert sent == {"zhangsan": ("wangwu", ["wmA", "wmB", "wmC"], "您好，之后由王五为您服务"),
                    "lisi": ("wangwu", ["wmB"], "您好，之后由王五为您服务")}
    tick(T0 + timedelta(minutes=1))  # the bulk sweep: the items follow their transfers
    got = items(created["id"])
    assert got[("laoliu", "wmE")] == ("failed", "原跟进成员已离职：请用离职继承")
    assert got[("lisi", "wmD")][0] == "failed" and "90 天内已转接 2 次" in got[("lisi", "wmD")][1]
    assert got[("zhangsan", "wmA")][0] == "waiting"
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["total"], job["failed"], job["items_by_status"]["waiting"]) == ("running", 6, 2, 4)

    wecom.add(responses.POST, url(RESULT), json={**OK, "customer": [
        {"external_userid": "wmA", "status": 1, "takeover_time": 1765400000},
        {"external_userid": "wmB", "status": 1, "takeover_time": 1765400000},
        {"external_userid": "wmC", "status": 3, "takeover_time": 1765400000}], "next_cursor": ""})
    tick(T0 + timedelta(hours=1))  # the handover sweep polls; the bulk sweep follows on its next tick
    tick(T0 + timedelta(hours=1, minutes=1))
    got = items(created["id"])
    assert got[("zhangsan", "wmA")] == got[("zhangsan", "wmB")] == got[("lisi", "wmB")] == ("done", None)
    assert got[("zhangsan", "wmC")] == ("failed", "客户拒绝了接替，仍由原成员名下待分配")
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["done"], job["failed"], job["percent"]) == ("done", 3, 3, 100.0)


def test_reassign_skips_the_takeover_members_own_customers_and_cancel_stops_unstarted_batches(
        app, api, world, wecom):
    db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid="wangwu", external_userid="wmC", status="active",
                                  added_at=T0, created_at=T0))
    db.session.commit()
    created = start(api, "reassign", customers=("wmC",), takeover_userid="wangwu")
    running.claim(created["id"], T0)  # the run's first steps, before the handover job starts
    job = db.session.get(BulkJob, created["id"])
    running.build(job, T0)
    reassign.open_batches(job, T0)
    db.session.commit()
    resp = api("POST", f"/bulk-jobs/{created['id']}/cancel").get_json()
    assert resp["status"] == "cancelled"
    got = items(created["id"])
    assert got == {("wangwu", "wmC"): ("skipped", "已是接替成员的客户"),
                   ("zhangsan", "wmC"): ("cancelled", "转接已取消")}
    assert db.session.scalar(select(HandoverBatch.status)) == BatchStatus.CANCELLED
    assert bodies(wecom, TRANSFER) == []
