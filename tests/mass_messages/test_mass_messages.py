"""Mass messages to customers (群发): the API's validation, the build (each customer once, through
one staff member; the monthly cap applied and reported; 10,000 per task), WeCom's task created at
most once, per-customer results read back, errors retried or recorded. WeCom is mocked at the
HTTP boundary with PROTOCOL.md §3.5's reply shapes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import (
    Customer,
    FollowRelation,
    MassMessage,
    MassMessageRecipient,
    MassMessageTask,
    Staff,
)
from scrm.services import mass_messages
from scrm.services.mass_messages import building
from tests.api.factories import gen_token
from tests.conftest import TEST_CORP_ID
from tests.sop.conftest import tick_runner
from tests.welcome.support import OK, url

MASS, TASK, RESULT = ("externalcontact/add_msg_template", "externalcontact/get_groupmsg_task",
                      "externalcontact/get_groupmsg_send_result")
T0 = datetime(2026, 12, 10, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1/mass-messages" + path, method=method,
                           headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def tick(app, runner):
    return tick_runner(app, runner)


@pytest.fixture
def world(app):
    """zhangsan follows wmA, wmB, wmC; lisi follows wmB (added later) and wmD; wmE deleted zhangsan."""
    clock.freeze(T0)
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四")):
        db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=name, status=1))
    for ext in ("wmA", "wmB", "wmC", "wmD", "wmE"):
        db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=ext, name=f"客户{ext}", type=1))
    for userid, ext, status in (("zhangsan", "wmA", "active"), ("zhangsan", "wmB", "active"),
                                ("zhangsan", "wmC", "active"), ("lisi", "wmB", "active"), ("lisi", "wmD", "active"),
                                ("zhangsan", "wmE", "deleted_by_customer")):
        db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=ext, status=status,
                                      added_at=T0 - timedelta(days=30), created_at=T0 - timedelta(days=30)))
        db.session.flush()
    db.session.commit()
    yield
    clock.freeze(None)


def bodies(wecom, path: str) -> list[dict]:
    return [json.loads(call.request.body) for call in wecom.calls if call.request.url.split("?")[0].endswith(path)]


def recipients(message_id: int) -> dict[str, tuple[str, str]]:
    db.session.expire_all()
    return {r.external_userid: (r.sender, r.status) for r in db.session.scalars(
        select(MassMessageRecipient).where(MassMessageRecipient.mass_message_id == message_id))}


def send(api, customers=("wmA", "wmB", "wmC", "wmD", "wmE", "wmX"), **extra):
    resp = api("POST", "", json={"name": "双十二活动", "text": "{staff_name}邀请您参加双十二活动",
                                 "audience": {"external_userids": list(customers)}, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "text": "你好{nickname}", "audience": {"external_userids": ["wmA"]}}, "text"),
    ({"name": "x", "audience": {"external_userids": ["wmA"]}}, "text"),
    ({"name": "", "text": "hi", "audience": {"external_userids": ["wmA"]}}, "name"),
    ({"name": "x", "text": "hi"}, "audience"),
    ({"name": "x", "text": "hi", "audience": {}}, "audience"),
    ({"name": "x", "text": "hi", "audience": {"external_userids": []}}, "audience"),
    ({"name": "x", "text": "hi", "audience": {"external_userids": ["wmA"]}, "monthly_cap": 32}, "monthly_cap"),
    ({"name": "x", "text": "hi", "audience": {"external_userids": ["wmA"]}, "monthly_cap": 0}, "monthly_cap"),
    ({"name": "x", "text": "a" * 4001, "audience": {"external_userids": ["wmA"]}}, "text"),
    ({"name": "x", "attachments": [{"msgtype": "image", "media": 999}],
      "audience": {"external_userids": ["wmA"]}}, "attachments.0.media"),
])
def test_invalid_messages_are_refused_with_field_messages(app, api, world, body, field):
    resp = api("POST", "", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]["json"]
    assert db.session.scalar(select(MassMessage.id)) is None


def test_each_customer_once_through_one_staff_member_one_task_per_sender(app, api, world, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": ["wmC"], "msgid": "msgZ"})
    created = send(api)
    assert created["status"] == "queued"
    tick(T0)
    assert recipients(created["id"]) == {
        "wmA": ("zhangsan", "waiting"), "wmB": ("zhangsan", "waiting"), "wmC": ("zhangsan", "refused"),
        "wmD": ("lisi", "waiting")}  # wmE deleted zhangsan, wmX is nobody's: not picked
    sent = {body["sender"]: body for body in bodies(wecom, MASS)}
    assert sorted(sent) == ["lisi", "zhangsan"]
    assert sent["zhangsan"]["external_userid"] == ["wmA", "wmB", "wmC"]
    assert sent["zhangsan"]["text"] == {"content": "张三邀请您参加双十二活动"}
    assert sent["zhangsan"]["chat_type"] == "single" and sent["zhangsan"]["allow_select"] is False
    detail = api("GET", f"/{created['id']}").get_json()
    assert detail["status"] == "sending" and detail["recipients"] == 4
    assert detail["tasks_by_status"] == {"awaiting": 2}
    tick(T0 + timedelta(minutes=5))  # a tick before the first check creates nothing again
    assert len(bodies(wecom, MASS)) == 2


def test_results_are_read_back_per_customer_and_the_message_settles(app, api, world, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    created = send(api, customers=("wmA", "wmB", "wmC"))
    tick(T0)
    wecom.add(responses.POST, url(TASK), json={**OK, "task_list": [{"userid": "zhangsan", "status": 2,
                                                                     "send_time": 1765333200}]})
    wecom.add(responses.POST, url(RESULT), json={**OK, "send_list": [
        {"external_userid": "wmA", "userid": "zhangsan", "status": 1, "send_time": 1765333200},
        {"external_userid": "wmB", "userid": "zhangsan", "status": 3},
        {"external_userid": "wmC", "userid": "zhangsan", "status": 2}]})
    tick(T0 + timedelta(minutes=11))
    assert recipients(created["id"]) == {"wmA": ("zhangsan", "sent"), "wmB": ("zhangsan", "quota_exceeded"),
                                         "wmC": ("zhangsan", "not_friend")}
    detail = api("GET", f"/{created['id']}").get_json()  # its last task settled: done at once
    assert detail["status"] == "done" and detail["tasks"][0]["status"] == "sent"
    assert detail["recipients_by_status"] == {"sent": 1, "quota_exceeded": 1, "not_friend": 1}
    listed = api("GET", f"/{created['id']}/recipients", query_string={"status": "sent"})
    assert [(r["external_userid"], r["name"], r["sender_name"]) for r in listed.get_json()] == [
        ("wmA", "客户wmA", "张三")]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1


def test_the_monthly_cap_is_respected_and_reported(app, api, world, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    first = send(api, customers=("wmA",), monthly_cap=1)
    tick(T0)
    second = send(api, customers=("wmA", "wmD"), monthly_cap=1)
    tick(T0 + timedelta(minutes=1))
    assert recipients(second["id"]) == {"wmA": ("zhangsan", "capped"), "wmD": ("lisi", "waiting")}
    detail = api("GET", f"/{second['id']}").get_json()
    assert (detail["recipients"], detail["capped"]) == (2, 1)
    assert [b["external_userid"] for b in bodies(wecom, MASS)] == [["wmA"], ["wmD"]]
    assert first["id"] != second["id"]


def test_a_new_month_starts_a_new_count(app, api, world, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    send(api, customers=("wmA",), monthly_cap=1)
    tick(T0)
    next_month = datetime(2026, 12, 31, 16, 30)  # 00:30 on 1 January in Shanghai
    clock.freeze(next_month)
    later = send(api, customers=("wmA",), monthly_cap=1)
    tick(next_month)
    assert recipients(later["id"]) == {"wmA": ("zhangsan", "waiting")}


def test_ten_thousand_customers_per_task(app, api, world, wecom, tick, monkeypatch):
    monkeypatch.setattr(building, "TASK_SIZE", 2)
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    send(api, customers=("wmA", "wmB", "wmC"))
    tick(T0)
    assert sorted(b["external_userid"] for b in bodies(wecom, MASS)) == [["wmA", "wmB"], ["wmC"]]


@pytest.mark.parametrize(("reply", "task_status", "customer_status"), [
    ({"errcode": -1, "errmsg": "system busy"}, "pending", "queued"),
    ({"errcode": 40003, "errmsg": "invalid userid"}, "failed", "not_sent"),
])
def test_wecom_errors_are_retried_or_recorded(app, api, world, wecom, tick, reply, task_status, customer_status):
    wecom.add(responses.POST, url(MASS), json=reply)
    created = send(api, customers=("wmA",))
    tick(T0)
    task = db.session.scalar(select(MassMessageTask))
    assert (task.status, task.attempts) == (task_status, 1)
    assert recipients(created["id"]) == {"wmA": ("zhangsan", customer_status)}
    if task_status == "pending":
        assert task.next_check_at > T0 and "system busy" in task.error
        wecom.replace(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
        tick(T0 + timedelta(minutes=1))
        assert recipients(created["id"]) == {"wmA": ("zhangsan", "waiting")}
    else:
        assert "40003" in task.error
        tick(T0 + timedelta(minutes=1))
        assert api("GET", f"/{created['id']}").get_json()["status"] == "done"


def test_a_task_is_created_once_even_when_its_job_runs_twice(app, api, world, wecom):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    created = send(api, customers=("wmA",))
    assert mass_messages.build(created["id"]) == "1 tasks"
    assert mass_messages.build(created["id"]) == "skipped"
    task_id = db.session.scalar(select(MassMessageTask.id))
    assert mass_messages.run_task(task_id) == "awaiting"
    assert mass_messages.run_task(task_id) == "skipped"
    assert len(bodies(wecom, MASS)) == 1


def test_still_dispatching_then_never_sent_then_given_up(app, api, world, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgZ"})
    created = send(api, customers=("wmA",))
    tick(T0)
    wecom.add(responses.POST, url(TASK), json={"errcode": 41063, "errmsg": "dispatching"})
    tick(T0 + timedelta(minutes=11))
    task = db.session.scalar(select(MassMessageTask))
    assert task.status == "awaiting" and task.next_check_at == T0 + timedelta(minutes=12)
    wecom.replace(responses.POST, url(TASK), json={**OK, "task_list": [{"userid": "zhangsan", "status": 0}]})
    tick(T0 + timedelta(minutes=12))
    assert bodies(wecom, RESULT) == []
    tick(T0 + timedelta(days=3, hours=1))
    assert recipients(created["id"]) == {"wmA": ("zhangsan", "not_sent")}
    db.session.expire_all()
    assert db.session.scalar(select(MassMessageTask.error)) == "the sender never sent it"


def test_cancel_stops_tasks_not_created_yet(app, api, world, wecom):
    created = send(api, customers=("wmA", "wmD"))
    mass_messages.build(created["id"])
    resp = api("POST", f"/{created['id']}/cancel")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert set(recipients(created["id"]).values()) == {("zhangsan", "not_sent"), ("lisi", "not_sent")}
    assert all(mass_messages.run_task(t) == "skipped" for t in db.session.scalars(select(MassMessageTask.id)))
    assert bodies(wecom, MASS) == []


def test_another_corps_message_is_not_found_and_filters_are_checked(app, api, world):
    other = MassMessage(corp_id="other-corp", name="x", text="hi", attachments=[], audience={}, monthly_cap=1,
                        status="done", created_by="t", created_at=T0)
    db.session.add(other)
    db.session.commit()
    assert api("GET", f"/{other.id}").status_code == 404
    assert api("GET", f"/{other.id}/recipients").status_code == 404
    mine = send(api, customers=("wmA",))
    assert api("GET", f"/{mine['id']}/recipients", query_string={"status": "nope"}).status_code == 422
    assert api("GET", "/99999999999").status_code == 404
    assert [m["id"] for m in api("GET", "").get_json()] == [mine["id"]]


def test_a_segment_or_the_lists_filters_as_the_audience(app, api, world, client):
    token = gen_token()
    segment = client.post("/api/v1/segments", headers={"Authorization": f"Bearer {token}"},
                          json={"name": "李四的客户", "filters": {"owner": ["lisi"]}})
    assert segment.status_code == 201, segment.get_json()
    by_segment = api("POST", "", json={"name": "分群群发", "text": "hi",
                                       "audience": {"segment_id": segment.get_json()["id"]}})
    by_filters = api("POST", "", json={"name": "筛选群发", "text": "hi",
                                       "audience": {"filters": {"owner": ["zhangsan"]}}})
    assert by_segment.status_code == by_filters.status_code == 201, (by_segment.get_json(), by_filters.get_json())
    assert by_filters.get_json()["audience"] == {"filters": {"owner": ["zhangsan"], "tag_mode": "any"}}
    for created in (by_segment.get_json(), by_filters.get_json()):
        mass_messages.build(created["id"])
    assert recipients(by_segment.get_json()["id"]) == {"wmB": ("lisi", "queued"), "wmD": ("lisi", "queued")}
    assert recipients(by_filters.get_json()["id"]) == {  # wmE deleted zhangsan: not an active relation
        "wmA": ("zhangsan", "queued"), "wmB": ("zhangsan", "queued"), "wmC": ("zhangsan", "queued")}


@pytest.mark.parametrize(("audience", "field"), [
    ({"segment_id": 999}, "audience.segment_id"),
    ({"segment_id": 1, "external_userids": ["wmA"]}, "audience"),
    ({"filters": {"tag_mode": "sometimes"}}, "audience"),
])
def test_an_audience_that_cannot_be_used_is_refused(app, api, world, audience, field):
    resp = api("POST", "", json={"name": "x", "text": "hi", "audience": audience})
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]["json"], resp.get_json()


def test_a_segment_deleted_before_the_build_fails_the_message(app, api, world, client):
    token = gen_token()
    segment = client.post("/api/v1/segments", headers={"Authorization": f"Bearer {token}"},
                          json={"name": "临时", "filters": {"owner": ["lisi"]}}).get_json()
    created = api("POST", "", json={"name": "x", "text": "hi", "audience": {"segment_id": segment["id"]}}).get_json()
    assert client.delete(f"/api/v1/segments/{segment['id']}",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert mass_messages.build(created["id"]) == "failed"
    detail = api("GET", f"/{created['id']}").get_json()
    assert detail["status"] == "failed" and "deleted" in detail["error"]
