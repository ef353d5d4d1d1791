"""Customer SOPs end to end: steps created when a matching customer is added, run by
`flask scrm tick --now ...` at the right times, delivered as a WeCom mass-send task (results
tracked) or a reminder card to the staff member, stopped for lost or no longer matching
customers, paused, resumed and edited."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import SopEnrollment, SopTask
from scrm.services import sop as sop_service
from scrm.wecom import ratelimit
from tests.helpers import event_xml, post_callback, run_jobs
from tests.sop.conftest import T0
from tests.welcome.support import OK, bodies, entry, kinds, url

MASS, TASK, RESULT = ("externalcontact/add_msg_template", "externalcontact/get_groupmsg_task",
                      "externalcontact/get_groupmsg_send_result")
SEND = "message/send"
DAY1_10 = datetime(2023, 11, 16, 2, 0)  # day 1 after the add, 10:00 in Shanghai


def tasks(external_userid: str | None = None) -> list[SopTask]:
    query = select(SopTask).order_by(SopTask.id)
    if external_userid:
        query = query.filter_by(external_userid=external_userid)
    return list(db.session.scalars(query))


def steps(*extra: dict) -> list[dict]:
    return [{"name": "产品手册", "delay_minutes": 120, "delivery": "mass_send",
             "text": "{nickname}您好，给您发一份产品手册", "attachments": [
                 {"msgtype": "link", "title": "产品手册", "url": "https://example.com/manual"}]},
            {"name": "次日回访", "day_offset": 1, "at_time": "10:00", "delivery": "reminder",
             "text": "问问{nickname}看完手册没有"}, *extra]


@pytest.fixture
def sop(api, channel) -> dict:
    created = api("POST", "/sops", json={"name": "展会新客跟进", "conditions": {"channel_ids": [channel["id"]]},
                                         "steps": steps()})
    assert created.status_code == 201, created.json
    return created.json


def test_full_loop_steps_created_run_on_time_and_results_tracked(app, api, wecom, sop, add_customer, tick):
    add_customer("wmA", name="王<b>小明</b>")
    first, second = tasks("wmA")
    assert (first.due_at, first.status, first.delivery) == (T0 + timedelta(hours=2), "pending", "mass_send")
    assert (second.due_at, second.delivery) == (DAY1_10, "reminder")
    assert "sop_enrolled" in kinds("wmA")

    assert tick(T0 + timedelta(hours=1))["sop-steps"] == 0  # nothing due yet
    assert bodies(wecom, MASS) == []

    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgSOP1"})
    assert tick(T0 + timedelta(hours=2))["sop-steps"] == 1
    assert bodies(wecom, MASS) == [{
        "chat_type": "single", "external_userid": ["wmA"], "sender": "zhangsan", "allow_select": False,
        "text": {"content": "王<b>小明</b>您好，给您发一份产品手册"},
        "attachments": [{"msgtype": "link", "link": {"title": "产品手册", "url": "https://example.com/manual"}}]}]
    first = tasks("wmA")[0]
    assert (first.status, first.msgid) == ("awaiting", "msgSOP1")
    assert first.next_check_at == T0 + timedelta(hours=2, minutes=10)
    assert entry("wmA", "sop_step_sent").data["delivery"] == "mass_send"

    # results: still being dispatched (41063), then sent by the staff member and received
    wecom.add(responses.POST, url(TASK), json={"errcode": 41063, "errmsg": "dispatching"})
    tick(T0 + timedelta(hours=2, minutes=10))
    assert tasks("wmA")[0].next_check_at == T0 + timedelta(hours=2, minutes=11)
    wecom.replace(responses.POST, url(TASK), json={**OK, "task_list": [
        {"userid": "zhangsan", "status": 2, "send_time": 1700010000}], "next_cursor": ""})
    wecom.add(responses.POST, url(RESULT), json={**OK, "send_list": [
        {"external_userid": "wmA", "userid": "zhangsan", "status": 1, "send_time": 1700010000}], "next_cursor": ""})
    tick(T0 + timedelta(hours=2, minutes=11))
    first = tasks("wmA")[0]
    assert (first.status, first.result, first.sent_at) == ("sent", "sent", datetime(2023, 11, 15, 1, 0))
    assert bodies(wecom, RESULT) == [{"msgid": "msgSOP1", "userid": "zhangsan", "limit": 1000}]
    assert "sop_step_delivered" in kinds("wmA")

    # day 1, 10:00 local: a reminder card to the staff member, linking to the sidebar
    wecom.add(responses.POST, url(SEND), json={**OK, "msgid": "m1"})
    assert tick(DAY1_10 - timedelta(minutes=1))["sop-steps"] == 0
    tick(DAY1_10)
    (card,) = bodies(wecom, SEND)
    second = tasks("wmA")[1]
    assert (card["touser"], card["msgtype"], card["enable_duplicate_check"]) == ("zhangsan", "textcard", 1)
    assert card["textcard"]["title"] == "客户SOP提醒：请给客户发送消息"
    assert card["textcard"]["url"] == f"http://127.0.0.1:5000/sidebar/?sop_step={second.id}"
    assert "王&lt;b&gt;小明&lt;/b&gt;" in card["textcard"]["description"]  # customer text escaped
    assert "<b>" not in card["textcard"]["description"]
    assert (second.status, second.content["text"]["content"]) == ("sent", "问问王<b>小明</b>看完手册没有")

    progress = api("GET", "/customers/wmA/sops").json
    assert [(p["sop_id"], p["status"], p["done"], p["total"]) for p in progress] == [(sop["id"], "completed", 2, 2)]
    assert [s["status"] for s in progress[0]["steps"]] == ["sent", "sent"]
    assert progress[0]["steps"][0]["due_at"] == "2023-11-15T00:13:20Z"


def test_only_matching_customers_are_enrolled(app, api, channel, add_customer):
    api("POST", "/sops", json={"name": "VIP", "conditions": {"tag_ids": ["etVIP"]}, "steps": steps()})
    api("POST", "/sops", json={"name": "李四的", "conditions": {"userids": ["lisi"]}, "steps": steps()})
    add_customer("wmPLAIN")
    add_customer("wmVIP", tags=[{"group_name": "等级", "tag_name": "重要", "tag_id": "etVIP", "type": 1}])
    assert {e.external_userid for e in db.session.scalars(select(SopEnrollment))} == {"wmVIP"}
    assert api("GET", "/customers/wmPLAIN/sops").json == []


def test_a_step_for_a_lost_customer_is_skipped(app, client, api, wecom, sop, add_customer, tick):
    add_customer("wmA")
    add_customer("wmB", offset=timedelta(minutes=1))
    post_callback(client, event_xml("change_external_contact", "del_follow_user", UserID="zhangsan",
                                    ExternalUserID="wmB", create_time=1700003000))
    run_jobs(app)
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    tick(T0 + timedelta(hours=3))
    assert [b["external_userid"] for b in bodies(wecom, MASS)] == [["wmA"]]
    lost = tasks("wmB")
    assert [(t.status, t.error) for t in lost] == [("skipped", "relation_lost")] * 2
    enrollment = db.session.scalars(select(SopEnrollment).filter_by(external_userid="wmB")).one()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "relation_lost")
    progress = api("GET", "/customers/wmB/sops").json[0]
    assert (progress["status"], progress["stop_reason"]) == ("stopped", "relation_lost")


def test_a_customer_lost_after_the_sweep_is_skipped_by_the_job(app, wecom, sop, add_customer, runner):
    from scrm.models import FollowRelation

    add_customer("wmA")
    runner.invoke(args=["scrm", "tick", "--now", (T0 + timedelta(hours=2)).isoformat()])  # enqueued
    db.session.scalars(select(FollowRelation).filter_by(external_userid="wmA")).one().status = "deleted_by_customer"
    db.session.commit()
    run_jobs(app, ["messages"])
    db.session.expire_all()
    assert tasks("wmA")[0].error == "relation_lost" and bodies(wecom, MASS) == []


def test_a_customer_who_no_longer_matches_stops(app, client, api, wecom, channel, add_customer, tick):
    api("POST", "/sops", json={"name": "VIP", "conditions": {"tag_ids": ["etVIP"]}, "steps": steps()})
    vip = [{"group_name": "等级", "tag_name": "重要", "tag_id": "etVIP", "type": 1}]
    add_customer("wmVIP", tags=vip)
    # the staff member removes the tag in WeCom: edit callback, the handler re-reads the contact
    wecom.replace(responses.GET, url("externalcontact/get"),
                  json={**OK, "external_contact": {"external_userid": "wmVIP", "name": "x"},
                        "follow_user": [{"userid": "zhangsan", "createtime": 1700000000, "tags": []}]})
    post_callback(client, event_xml("change_external_contact", "edit_external_contact", UserID="zhangsan",
                                    ExternalUserID="wmVIP", create_time=1700000500))
    run_jobs(app)
    tick(T0 + timedelta(hours=2))
    assert bodies(wecom, MASS) == []
    assert [t.error for t in tasks("wmVIP")] == ["no_longer_matches", "no_longer_matches"]


def test_pause_resume_and_stale_steps(app, api, wecom, sop, add_customer, tick):
    add_customer("wmA")
    assert api("POST", f"/sops/{sop['id']}/pause").json["status"] == "paused"
    add_customer("wmB")  # not enrolled while paused
    assert tick(T0 + timedelta(hours=2))["sop-steps"] == 0
    assert tasks("wmA")[0].status == "pending" and tasks("wmB") == []
    assert api("POST", f"/sops/{sop['id']}/resume").json["status"] == "active"
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    tick(T0 + timedelta(hours=3))  # an hour late: still sent
    assert tasks("wmA")[0].status == "awaiting"
    # the reminder, found more than 24 h past due (e.g. the scheduler was down): skipped, not sent late
    tick(DAY1_10 + timedelta(hours=25))
    assert (tasks("wmA")[1].status, tasks("wmA")[1].error) == ("skipped", "stale: more than 24 h past due")
    assert bodies(wecom, SEND) == []


def test_edits_apply_to_steps_not_yet_run(app, api, wecom, sop, add_customer, tick):
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    tick(T0 + timedelta(hours=2))  # the first step ran
    first_id, second_id = (s["id"] for s in sop["steps"])
    clock.freeze(T0 + timedelta(hours=3))  # the operator edits an hour later
    edited = api("PATCH", f"/sops/{sop['id']}", json={"steps": [
        {"id": first_id, "delay_minutes": 30, "delivery": "mass_send", "text": "改过的手册"},
        {"name": "三天后", "day_offset": 3, "at_time": "20:00", "delivery": "reminder", "text": "第三天"}]})
    assert edited.status_code == 200, edited.json
    assert [(s["name"], s["delay_minutes"]) for s in edited.json["steps"]] == [("产品手册", 30), ("三天后", None)]
    first, second, third = tasks("wmA")
    assert (first.status, first.due_at) == ("awaiting", T0 + timedelta(hours=2))  # already run: unchanged
    assert (second.step_id, second.status, second.error) == (second_id, "cancelled", "step removed")
    assert (third.status, third.due_at) == ("pending", datetime(2023, 11, 18, 12, 0))  # day 3, 20:00 local


def test_a_step_runs_at_most_once(app, wecom, sop, add_customer):
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    task_id = tasks("wmA")[0].id
    clock.freeze(T0 + timedelta(hours=2))
    assert sop_service.run_task(task_id) == "awaiting"
    assert sop_service.run_task(task_id) == "skipped"
    assert len(bodies(wecom, MASS)) == 1


@pytest.mark.parametrize(("reply", "status", "result"), [
    ({**OK, "fail_list": ["wmA"], "msgid": "msg1"}, "failed", "fail_list"),
    ({"errcode": 41048, "errmsg": "no external contact"}, "failed", None),
    ({"errcode": -1, "errmsg": "busy"}, "pending", None),  # retryable: the next sweep tries again
])
def test_mass_send_errors(app, wecom, sop, add_customer, tick, reply, status, result):
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json=reply)
    tick(T0 + timedelta(hours=2))
    task = tasks("wmA")[0]
    assert (task.status, task.result, task.attempts) == (status, result, 1)


@pytest.mark.parametrize(("status", "task_status", "result"), [
    (2, "failed", "not_friend"), (3, "failed", "quota_exceeded"), (0, "awaiting", "pending")])
def test_send_results(app, wecom, sop, add_customer, tick, status, task_status, result):
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    tick(T0 + timedelta(hours=2))
    wecom.add(responses.POST, url(TASK), json={**OK, "task_list": [{"userid": "zhangsan", "status": 2}]})
    wecom.add(responses.POST, url(RESULT), json={**OK, "send_list": [
        {"external_userid": "wmA", "userid": "zhangsan", "status": status}]})
    tick(T0 + timedelta(hours=3))
    task = tasks("wmA")[0]
    assert (task.status, task.result) == (task_status, result)


def test_a_task_the_staff_member_never_sends_is_given_up(app, wecom, sop, add_customer, tick):
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msg1"})
    tick(T0 + timedelta(hours=2))
    wecom.add(responses.POST, url(TASK), json={**OK, "task_list": [{"userid": "zhangsan", "status": 0}]})
    tick(T0 + timedelta(hours=3))
    assert (tasks("wmA")[0].status, tasks("wmA")[0].result) == ("awaiting", "not_sent_yet")
    assert bodies(wecom, RESULT) == []  # not asked before the staff member sent it
    tick(T0 + timedelta(days=3, hours=3))
    assert (tasks("wmA")[0].status, tasks("wmA")[0].result) == ("failed", "not_sent")


def test_reminders_are_throttled_per_staff_member(app, api, wecom, channel, add_customer, tick, monkeypatch):
    monkeypatch.setitem(ratelimit.MEMBER_LIMITS, "message/send", ((60, 2), (3600, 1000)))
    api("POST", "/sops", json={"name": "提醒", "steps": [
        {"delay_minutes": 10, "delivery": "reminder", "text": "跟进"}]})
    for n in range(3):
        add_customer(f"wm{n}")
    wecom.add(responses.POST, url(SEND), json={**OK, "msgid": "m"})
    tick(T0 + timedelta(minutes=10))
    assert len(bodies(wecom, SEND)) == 2
    assert sorted(t.status for t in tasks()) == ["pending", "sent", "sent"]
    tick(T0 + timedelta(minutes=11))  # the next minute
    assert len(bodies(wecom, SEND)) == 3


def test_steps_anchored_to_a_customer_date(app, api, wecom, channel, add_customer, tick):
    created = api("POST", "/sops", json={"name": "生日", "steps": [
        {"anchor": "date", "date_key": "birthday", "yearly": True, "day_offset": 0, "at_time": "09:00",
         "delivery": "mass_send", "text": "生日快乐，{nickname}！"}]})
    assert created.status_code == 201, created.json
    add_customer("wmA", name="小王")
    assert tasks("wmA") == []  # no birthday known yet
    clock.freeze(T0 + timedelta(days=1))  # set the next day
    assert api("PUT", "/customers/wmA/dates/birthday", json={"value": "1990-02-03"}).status_code == 200
    (task,) = tasks("wmA")
    assert task.due_at == datetime(2024, 2, 3, 1, 0)  # next birthday, 09:00 Shanghai
    api("PUT", "/customers/wmA/dates/birthday", json={"value": "1990-12-01"})
    db.session.expire_all()
    (task,) = tasks("wmA")
    assert (task.status, task.due_at) == ("pending", datetime(2023, 12, 1, 1, 0))
    clock.freeze(None)
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgB"})
    tick(datetime(2023, 12, 1, 1, 0))
    assert bodies(wecom, MASS)[0]["text"] == {"content": "生日快乐，小王！"}
    assert api("PUT", "/customers/nobody/dates/birthday", json={"value": "1990-02-03"}).status_code == 404
    assert api("PUT", "/customers/wmA/dates/Bad-Key", json={"value": "1990-02-03"}).status_code == 422


def test_deleting_an_sop_cancels_its_pending_steps(app, api, sop, add_customer, tick, wecom):
    add_customer("wmA")
    assert api("DELETE", f"/sops/{sop['id']}").status_code == 204
    assert {t.status for t in tasks("wmA")} == {"cancelled"}
    assert api("GET", f"/sops/{sop['id']}").status_code == 404
    tick(T0 + timedelta(days=2))
    assert bodies(wecom, MASS) == [] and bodies(wecom, SEND) == []


@pytest.mark.parametrize(("step", "field"), [
    ({"delivery": "mass_send", "text": "x"}, "delay_minutes"),  # no time
    ({"delivery": "mass_send", "text": "x", "delay_minutes": 5, "day_offset": 1}, "delay_minutes"),
    ({"delivery": "email", "text": "x", "delay_minutes": 5}, "delivery"),
    ({"delivery": "reminder", "delay_minutes": 5}, "text"),
    ({"delivery": "reminder", "text": "好" * 1334, "delay_minutes": 5}, "text"),
    ({"delivery": "reminder", "text": "x", "anchor": "date", "day_offset": 0}, "date_key"),
    ({"delivery": "reminder", "text": "x", "day_offset": 1, "at_time": "7pm"}, "at_time"),
    ({"delivery": "reminder", "delay_minutes": 5,
      "attachments": [{"msgtype": "link", "title": "t", "url": "https://e.com"}] * 10}, "attachments"),
])
def test_invalid_steps_get_422_per_field(app, api, step, field):
    response = api("POST", "/sops", json={"name": "bad", "steps": [step]})
    assert response.status_code == 422
    assert field in json.dumps(response.json["errors"]["json"]["steps"]["0"])


def test_unknown_tags_in_conditions_are_refused(app, api):
    response = api("POST", "/sops", json={"name": "x", "conditions": {"tag_ids": ["etNOPE"]},
                                          "steps": [{"delivery": "reminder", "text": "x", "delay_minutes": 5}]})
    assert response.status_code == 422 and "etNOPE" in response.json["errors"]["json"]["conditions.tag_ids"][0]


def test_a_task_whose_worker_died_is_failed_not_rerun(app, wecom, sop, add_customer, tick):
    add_customer("wmA")
    task = tasks("wmA")[0]
    task.status, task.started_at = "running", T0 + timedelta(hours=2)  # claimed, then the worker died
    db.session.commit()
    tick(T0 + timedelta(hours=2, minutes=11))
    task = tasks("wmA")[0]
    assert (task.status, task.error.split(" ")[0]) == ("failed", "interrupted")
    assert bodies(wecom, MASS) == []


def test_same_content_mass_sends_of_one_staff_member_go_out_as_one_wecom_task(app, api, wecom, channel,
                                                                              add_customer, tick):
    created = api("POST", "/sops", json={"name": "统一推送", "conditions": {"channel_ids": [channel["id"]]}, "steps": [
        {"name": "活动通知", "delay_minutes": 60, "delivery": "mass_send", "text": "本周六门店活动，欢迎光临"}]})
    assert created.status_code == 201, created.json
    add_customer("wmA")
    add_customer("wmB", offset=timedelta(minutes=5))
    add_customer("wmC", offset=timedelta(hours=3))  # due later: its own task
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": ["wmB"], "msgid": "msgBATCH"})
    assert tick(T0 + timedelta(hours=2))["sop-steps"] == 2  # both jobs queued; the first sends for both
    assert [b["external_userid"] for b in bodies(wecom, MASS)] == [["wmA", "wmB"]]
    a, b = tasks("wmA")[0], tasks("wmB")[0]
    assert (a.status, a.msgid) == ("awaiting", "msgBATCH")
    assert (b.status, b.result) == ("failed", "fail_list")
    assert tasks("wmC")[0].status == "pending"
    assert entry("wmA", "sop_step_sent").data["batch"] == 2


def test_a_nickname_text_is_sent_one_customer_at_a_time(app, wecom, sop, add_customer, tick):
    add_customer("wmA")
    add_customer("wmB")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgONE"})
    tick(T0 + timedelta(hours=2))
    assert sorted(b["external_userid"] for b in bodies(wecom, MASS)) == [["wmA"], ["wmB"]]


def test_a_due_step_whose_job_redis_lost_is_sent_on_the_next_sweep(app, wecom, sop, add_customer, runner,
                                                                     redis_client, tick):
    """Redis holds nothing that cannot be rebuilt (issue #11): a step's job lost with every
    Redis key is enqueued again by the next sweep, from the task row, and sent once."""
    add_customer("wmA")
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgSOP1"})
    result = runner.invoke(args=["scrm", "tick", "--now", (T0 + timedelta(hours=2)).isoformat()])
    assert json.loads(result.output)["sop-steps"] == 1  # enqueued, not run
    redis_client.flushdb()

    assert tick(T0 + timedelta(hours=2, minutes=1))["sop-steps"] == 1
    assert len(bodies(wecom, MASS)) == 1
    assert tasks("wmA")[0].status == "awaiting"
