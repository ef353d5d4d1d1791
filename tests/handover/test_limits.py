"""WeCom's transfer limits, respected and explained: 100 customers per call, a customer at most twice
in 90 days (40128, also checked before calling), the customer's 24 h (waiting until final), the
successor's customer cap (status 4)."""
from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import HandoverBatch, HandoverItem
from scrm.services import handover
from tests.api.factories import gen_group
from tests.conftest import TEST_CORP_ID
from tests.handover.support import staff
from tests.helpers import run_jobs
from tests.welcome.support import OK, bodies, url

TRANSFER, RESULT = "externalcontact/transfer_customer", "externalcontact/transfer_result"


def _start(api, app, mover: str, customers: list[str]) -> dict:
    batch = api("POST", "/handovers", json={"handover_userid": mover, "external_userids": customers, "chat_ids": [],
                                            "rule": "manual", "takeover_userid": "boss"}).get_json()
    assert api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "boss"}).status_code == 200
    run_jobs(app, ["messages"])
    return batch


def _items(api, batch_id: int) -> dict[str, dict]:
    return {i["target_id"]: i for i in api("GET", f"/handovers/{batch_id}/items?page_size=200").get_json()}


def test_150_customers_go_in_calls_of_100_and_each_refusal_is_explained(app, api, wecom):
    staff("boss", leader=True)
    customers = staff("mover", customers=150)

    def reply(request):
        asked = json.loads(request.body)["external_userid"]
        return 200, {}, json.dumps({**OK, "customer": [
            {"external_userid": ext, "errcode": 40128 if ext == customers[7] else 40099 if ext == customers[8] else 0}
            for ext in asked]})
    wecom.add_callback(responses.POST, url(TRANSFER), callback=reply, content_type="application/json")
    batch = _start(api, app, "mover", customers)

    assert [len(b["external_userid"]) for b in bodies(wecom, TRANSFER)] == [100, 50]
    items = _items(api, batch["id"])
    assert (items[customers[7]]["status"], items[customers[7]]["errcode"]) == ("limit", 40128)
    assert "90 天内已转接 2 次" in items[customers[7]]["reason"]
    assert (items[customers[8]]["status"], items[customers[8]]["reason"]) == (
        "limit", "接替成员的客户数已达上限，请换一位接替成员")
    assert items[customers[0]]["status"] == "waiting" and "24 小时" in items[customers[0]]["reason"]
    detail = api("GET", f"/handovers/{batch['id']}").get_json()
    assert detail["status"] == "running" and detail["limits"]["per_call"] == 100
    assert "90 天内最多转接 2 次" in detail["limits"]["text"]


def test_a_customer_transferred_twice_in_90_days_is_not_sent_again(app, api, wecom):
    staff("boss", leader=True)
    [customer, other] = staff("mover", customers=2)
    for days, status in ((10, "done"), (80, "refused")):  # two transfers started, in two earlier batches
        earlier = HandoverBatch(corp_id=TEST_CORP_ID, kind="onjob", handover_userid="x", rule="manual", status="done")
        db.session.add(earlier)
        db.session.flush()
        db.session.add(HandoverItem(corp_id=TEST_CORP_ID, batch_id=earlier.id, target="customer",
                                    target_id=customer, status=status, started_at=utcnow() - timedelta(days=days)))
    db.session.commit()
    wecom.add(responses.POST, url(TRANSFER), json={**OK, "customer": [{"external_userid": other, "errcode": 0}]})
    batch = _start(api, app, "mover", [customer, other])

    assert [b["external_userid"] for b in bodies(wecom, TRANSFER)] == [[other]]  # never asked for the first
    item = _items(api, batch["id"])[customer]
    assert (item["status"], item["errcode"]) == ("limit", 40128)
    assert item["reason"].startswith("该客户 90 天内已转接 2 次")


def test_waiting_until_final_then_the_successor_s_cap(app, api, wecom):
    staff("boss", leader=True)
    [first, second] = staff("mover", customers=2)
    wecom.add(responses.POST, url(TRANSFER), json={**OK, "customer": [
        {"external_userid": first, "errcode": 0}, {"external_userid": second, "errcode": 0}]})
    batch = _start(api, app, "mover", [first, second])
    wecom.add(responses.POST, url(RESULT), json={**OK, "customer": [
        {"external_userid": first, "status": 2}, {"external_userid": second, "status": 4}], "next_cursor": ""})

    assert handover.sweep(utcnow() + timedelta(minutes=5)) == 0  # not due yet (SCRM_HANDOVER_POLL_MINUTES)
    assert handover.sweep(utcnow() + timedelta(minutes=31)) == 1
    run_jobs(app, ["messages"])
    assert bodies(wecom, RESULT) == [{"handover_userid": "mover", "takeover_userid": "boss"}]
    items = _items(api, batch["id"])
    assert items[first]["status"] == "waiting"
    assert (items[second]["status"], items[second]["reason"]) == ("limit", "接替成员的客户数已达上限，接替失败")
    assert api("GET", f"/handovers/{batch['id']}").get_json()["status"] == "running"
    assert db.session.scalar(select(HandoverItem.next_check_at).filter_by(target_id=first)) is not None


def test_a_transfer_wecom_has_no_record_of_is_given_up_after_48_hours(app, api, wecom):
    staff("boss", leader=True)
    [customer] = staff("mover", customers=1)
    wecom.add(responses.POST, url(TRANSFER), json={**OK, "customer": [{"external_userid": customer, "errcode": 0}]})
    wecom.add(responses.POST, url(RESULT), json={**OK, "customer": [], "next_cursor": ""})
    batch = _start(api, app, "mover", [customer])

    assert handover.sweep(utcnow() + timedelta(hours=1)) == 1
    run_jobs(app, ["messages"])
    assert _items(api, batch["id"])[customer]["status"] == "waiting"
    handover.sweep(utcnow() + timedelta(hours=49))
    run_jobs(app, ["messages"])
    item = _items(api, batch["id"])[customer]
    assert (item["status"], item["reason"]) == ("failed", "WeCom 暂无接替记录")
    assert api("GET", f"/handovers/{batch['id']}").get_json()["status"] == "done"


def test_a_run_that_died_midway_is_sent_again(app, api, wecom):
    staff("boss", leader=True)
    [customer] = staff("mover", customers=1)
    batch = api("POST", "/handovers", json={"handover_userid": "mover", "chat_ids": [], "rule": "manual",
                                            "takeover_userid": "boss"}).get_json()
    row = db.session.get(HandoverBatch, batch["id"])
    row.status, row.started_at = "running", utcnow() - timedelta(minutes=20)  # claimed, then the worker died
    db.session.commit()
    wecom.add(responses.POST, url(TRANSFER), json={**OK, "customer": [{"external_userid": customer, "errcode": 0}]})
    assert handover.sweep() == 1
    run_jobs(app, ["messages"])
    assert _items(api, batch["id"])[customer]["status"] == "waiting"


def test_a_group_moved_twice_on_the_job_in_90_days_is_not_sent_again(app, api, wecom):
    staff("boss", leader=True)
    staff("mover")
    gen_group(chat_id="wrBUSY", name="老客户群", owner="mover")
    gen_group(chat_id="wrFREE", name="新客户群", owner="mover")
    for days in (5, 60):
        earlier = HandoverBatch(corp_id=TEST_CORP_ID, kind="onjob", handover_userid="x", rule="manual", status="done")
        db.session.add(earlier)
        db.session.flush()
        db.session.add(HandoverItem(corp_id=TEST_CORP_ID, batch_id=earlier.id, target="group", target_id="wrBUSY",
                                    status="done", started_at=utcnow() - timedelta(days=days)))
    db.session.commit()
    wecom.add(responses.POST, url("externalcontact/groupchat/onjob_transfer"), json={**OK, "failed_chat_list": []})
    batch = api("POST", "/handovers", json={"handover_userid": "mover", "external_userids": [], "rule": "manual",
                                            "takeover_userid": "boss"}).get_json()
    api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "boss"})
    run_jobs(app, ["messages"])

    assert bodies(wecom, "externalcontact/groupchat/onjob_transfer") == [
        {"chat_id_list": ["wrFREE"], "new_owner": "boss"}]
    items = _items(api, batch["id"])
    assert items["wrFREE"]["status"] == "done" and items["wrFREE"]["name"] == "新客户群"
    assert (items["wrBUSY"]["status"], items["wrBUSY"]["reason"]) == (
        "limit", "该群 90 天内已在职转接 2 次（WeCom 规定每个群 90 天内最多在职转接两次），请稍后再试")
