"""Group SOPs in the sidebar's group view: a reminder plan made through the Open API runs at
`flask scrm tick --now`; the card links to /sidebar/?group_sop=<execution id>; the group view
shows the reminder and the calendar; only the group's current owner gets the content (rendered
for the group, as sendChatMessage arguments) and records it sent, once."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import AuditLog, GroupSopExecution
from tests.api.factories import OTHER_CORP_ID, gen_group, gen_member, gen_staff, gen_token
from tests.sidebar.conftest import login
from tests.sop.conftest import tick_runner
from tests.welcome.support import OK, bodies, url

T0 = datetime(2026, 12, 1, 0, 30)  # 08:30 in Shanghai; the plan runs daily at 09:00 (01:00 UTC)
DUE = datetime(2026, 12, 1, 1, 0)
NAME = "<b>福利</b>群"


@pytest.fixture
def tick(app, runner):
    """`flask scrm tick --now AT`, then the messages worker as of AT."""
    yield tick_runner(app, runner)
    clock.freeze(None)


@pytest.fixture
def reminded(app, client, wecom, tick):
    """A group owned by 张三 (李四 a staff member in it), a daily reminder plan for it, run once."""
    gen_staff(userid="zhangsan", name="张三")
    gen_staff(userid="lisi", name="李四")
    group = gen_group(name=NAME, owner="zhangsan")
    for member, kind in (("zhangsan", 1), ("lisi", 1), ("wmCUSTOMER", 2)):
        gen_member(group, member, type=kind)
    clock.freeze(T0)
    created = client.post("/api/v1/group-sops", headers={"Authorization": f"Bearer {gen_token()}"}, json={
        "name": "每日福利", "targets": {"chat_ids": [group.chat_id]}, "delivery": "reminder",
        "schedule": {"kind": "daily", "at_time": "09:00"},
        "steps": [{"name": "早安提醒", "text": "欢迎来到{group_name}，我是{staff_name}",
                   "attachments": [{"msgtype": "link", "title": "今日福利", "url": "https://example.com/w"}]}]})
    assert created.status_code == 201, created.json
    wecom.add(responses.POST, url("message/send"), json={**OK, "invaliduser": "", "msgid": "msg1"})
    wecom.add(responses.POST, url("externalcontact/groupchat/statistic"),  # the nightly group figures, same tick
              json={**OK, "total": 0, "next_offset": 0, "items": []})
    tick(DUE + timedelta(minutes=1))
    (execution,) = db.session.scalars(select(GroupSopExecution).filter_by(status="awaiting"))
    assert (execution.result, execution.owner) == ("reminded", "zhangsan")
    (card,) = bodies(wecom, "message/send")
    assert card["touser"] == "zhangsan"
    assert card["textcard"]["url"].endswith(f"/sidebar/?group_sop={execution.id}")
    clock.freeze(DUE + timedelta(minutes=5))
    return group, execution


def test_the_group_view_shows_the_reminder_and_the_calendar(reminded, client):
    group, execution = reminded
    login(client, "zhangsan")
    view = client.get(f"/sidebar/api/groups/{group.chat_id}")
    assert view.status_code == 200, view.json
    sop = view.json["sop"]
    (reminder,) = sop["reminders"]
    assert reminder["id"] == execution.id and reminder["can_send"] is True
    assert (reminder["plan_name"], reminder["step_name"], reminder["due_at"]) == ("每日福利", "早安提醒",
                                                                                 "2026-12-01T01:00:00Z")
    assert (reminder["status"], reminder["status_label"], reminder["result_label"]) == (
        "awaiting", "等待群主发送", "已提醒群主")
    assert reminder["preview"] == f"欢迎来到{NAME}，我是张三"  # as-is: the page inserts it as text
    upcoming = sop["upcoming"]
    assert [u["due_at"] for u in upcoming] == [f"2026-12-0{d}T01:00:00Z" for d in range(2, 9)]  # the next 7 days
    assert {(u["status_label"], u["plan_name"], u["step_name"]) for u in upcoming} == {
        ("待执行", "每日福利", "早安提醒")}
    assert sop["recent"] == []  # the reminder is listed once, above


def test_the_owner_gets_the_content_and_sends_it_once(reminded, client):
    group, execution = reminded
    login(client, "zhangsan")
    shown = client.get(f"/sidebar/api/group-sop-executions/{execution.id}")
    assert shown.status_code == 200, shown.json
    assert shown.json["messages"] == [
        {"msgtype": "text", "text": {"content": f"欢迎来到{NAME}，我是张三"}},
        {"msgtype": "news", "news": {"link": "https://example.com/w", "title": "今日福利", "desc": "", "imgUrl": ""}}]
    assert shown.json["unsendable"] == 0
    assert shown.json["execution"]["group_name"] == NAME and shown.json["execution"]["sendable"] is True
    first = client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent")
    assert first.json == {"id": execution.id, "status": "sent", "sent_at": "2026-12-01T01:05:00Z"}
    clock.freeze(DUE + timedelta(minutes=30))
    assert client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent").json == first.json
    db.session.expire_all()
    assert db.session.get(GroupSopExecution, execution.id).status == "sent"
    (audit,) = db.session.scalars(select(AuditLog).filter_by(action="send_group_sop_step"))
    assert (audit.userid, audit.target_type, audit.target_id, audit.detail["chat_id"]) == (
        "zhangsan", "group_sop", str(execution.id), group.chat_id)
    sop = client.get(f"/sidebar/api/groups/{group.chat_id}").json["sop"]
    assert sop["reminders"] == []
    assert [(r["id"], r["status_label"], r["result_label"]) for r in sop["recent"]] == [
        (execution.id, "已发送", "已发送")]
    assert client.get(f"/sidebar/api/group-sop-executions/{execution.id}").json["execution"]["sendable"] is False


def test_only_the_groups_current_owner_may_send(reminded, client):
    group, execution = reminded
    login(client, "lisi")  # a staff member in the group: sees the calendar, not the send
    view = client.get(f"/sidebar/api/groups/{group.chat_id}").json["sop"]
    assert [(r["id"], r["can_send"]) for r in view["reminders"]] == [(execution.id, False)]
    for response in (client.get(f"/sidebar/api/group-sop-executions/{execution.id}"),
                     client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent")):
        assert (response.status_code, response.json) == (403, {"code": 403, "message": "无权查看该任务"})
    login(client, "zhangsan", corp_id=OTHER_CORP_ID)
    assert client.get(f"/sidebar/api/group-sop-executions/{execution.id}").status_code == 404
    login(client, "zhangsan")
    assert client.get("/sidebar/api/group-sop-executions/999999").json == {"code": 404, "message": "任务不存在"}
    group.owner = "lisi"  # the group changed hands: the new owner sends it
    db.session.commit()
    assert client.get(f"/sidebar/api/group-sop-executions/{execution.id}").status_code == 403
    login(client, "lisi")
    assert client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent").json["status"] == "sent"
    db.session.expire_all()
    assert db.session.scalar(select(AuditLog.userid).filter_by(action="send_group_sop_step")) == "lisi"


def test_a_reminder_given_up_is_not_sent(reminded, client):
    group, execution = reminded
    execution.status, execution.result = "failed", "not_sent"
    db.session.commit()
    login(client, "zhangsan")
    response = client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent")
    assert (response.status_code, response.json["message"]) == (409, "该提醒已失效，无需再发送")
    assert db.session.scalars(select(AuditLog).filter_by(action="send_group_sop_step")).all() == []


def test_a_reminder_of_a_deleted_plan_is_not_sent(reminded, client):
    group, execution = reminded
    deleted = client.delete(f"/api/v1/group-sops/{execution.plan_id}",
                            headers={"Authorization": f"Bearer {gen_token()}"})
    assert deleted.status_code in (200, 204), deleted.data
    login(client, "zhangsan")
    view = client.get(f"/sidebar/api/group-sop-executions/{execution.id}").json
    assert view["execution"]["sendable"] is False
    response = client.post(f"/sidebar/api/group-sop-executions/{execution.id}/sent")
    assert response.status_code == 409
    db.session.expire_all()
    assert (db.session.get(GroupSopExecution, execution.id).status, db.session.scalars(
        select(AuditLog).filter_by(action="send_group_sop_step")).all()) == ("cancelled", [])


def test_new_members_waiting_together_are_greeted_in_one_send(app, client, wecom, tick):
    """The new-member series: two customers joined before the step ran; one reminder for both,
    {nickname} naming them, and one send marks both executions."""
    gen_staff(userid="zhangsan", name="张三")
    group = gen_group(name=NAME, owner="zhangsan")
    gen_member(group, "zhangsan", type=1)
    clock.freeze(T0)
    created = client.post("/api/v1/group-sops", headers={"Authorization": f"Bearer {gen_token()}"}, json={
        "name": "新人欢迎", "targets": {"chat_ids": [group.chat_id]}, "delivery": "reminder",
        "schedule": {"kind": "member_joined"},
        "steps": [{"name": "入群欢迎", "delay_minutes": 5, "text": "欢迎{nickname}加入{group_name}"}]})
    assert created.status_code == 201, created.json
    gen_member(group, "wmA", type=2, name="小<i>明</i>", join_time=T0 + timedelta(minutes=1))
    gen_member(group, "wmB", type=2, name="小红", join_time=T0 + timedelta(minutes=2))
    wecom.add(responses.POST, url("message/send"), json={**OK, "invaliduser": "", "msgid": "msg1"})
    wecom.add(responses.POST, url("externalcontact/groupchat/statistic"),
              json={**OK, "total": 0, "next_offset": 0, "items": []})
    tick(T0 + timedelta(minutes=3))  # planned
    tick(T0 + timedelta(minutes=8))  # both due: one card
    assert len(bodies(wecom, "message/send")) == 1
    login(client, "zhangsan")
    (reminder,) = client.get(f"/sidebar/api/groups/{group.chat_id}").json["sop"]["reminders"]
    shown = client.get(f"/sidebar/api/group-sop-executions/{reminder['id']}").json
    assert shown["messages"] == [{"msgtype": "text", "text": {"content": f"欢迎小<i>明</i>、小红加入{NAME}"}}]
    assert client.post(f"/sidebar/api/group-sop-executions/{reminder['id']}/sent").json["status"] == "sent"
    db.session.expire_all()
    rows = db.session.scalars(select(GroupSopExecution).order_by(GroupSopExecution.member_id))
    assert [(e.member_id, e.status) for e in rows] == [("wmA", "sent"), ("wmB", "sent")]
