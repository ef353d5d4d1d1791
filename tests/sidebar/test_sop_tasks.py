"""SOP reminder tasks in the sidebar: the reminder card links to /sidebar/?sop_step=<task id>; the
task's own staff member gets the step's content as sendChatMessage arguments (rendered for the
customer), anyone else a 403 that says nothing; "sent" is recorded once; pending reminders."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import AuditLog, MediaAsset, SopTask, TimelineEntry
from scrm.services import library
from scrm.services import sop as sop_service
from tests.api.factories import OTHER_CORP_ID, gen_customer, gen_relation, gen_staff, gen_token
from tests.conftest import TEST_CORP_ID
from tests.sidebar.conftest import login
from tests.welcome.support import OK, bodies, url

T0 = datetime(2026, 12, 1, 1, 0)  # the add


def gen_media(kind: str = "image") -> int:
    asset = MediaAsset(corp_id=TEST_CORP_ID, kind=kind, filename="p.png", content_type="image/png", size=9,
                       sha256="0" * 64, data=b"\x89PNG data", status="ready", media_id=f"MEDIA-{kind}",
                       expires_at=T0 + timedelta(days=3))
    db.session.add(asset)
    db.session.commit()
    return asset.id


@pytest.fixture
def reminder(app, client, wecom) -> SopTask:
    """A customer enrolled in an SOP whose first step (a reminder, +1 h) has run: the card was sent."""
    gen_staff(userid="zhangsan", name="张三")
    gen_staff(userid="lisi", name="李四")
    gen_relation(gen_customer(external_userid="wmMINE", name="王<b>小明</b>"), "zhangsan")
    image = gen_media()
    created = client.post("/api/v1/sops", headers={"Authorization": f"Bearer {gen_token()}"}, json={
        "name": "新客跟进", "steps": [
            {"name": "报价跟进", "delay_minutes": 60, "delivery": "reminder",
             "text": "{nickname}您好，我是{staff_name}，这是报价单", "attachments": [
                 {"msgtype": "image", "media": image},
                 {"msgtype": "link", "title": "报价单", "url": "https://example.com/q", "desc": "2026 版"},
                 {"msgtype": "miniprogram", "title": "在线下单", "appid": "wx1", "page": "pages/buy.html",
                  "media": image},
                 {"msgtype": "image", "pic_url": "https://example.com/x.png"},
                 {"msgtype": "video", "media": gen_media("video")}]},
            {"name": "三天后", "delay_minutes": 3 * 24 * 60, "delivery": "reminder", "text": "回访"},
            {"name": "群发", "delay_minutes": 30, "delivery": "mass_send", "text": "群发内容"}]})
    assert created.status_code == 201, created.json
    sop_service.enroll_on_add(TEST_CORP_ID, "zhangsan", "wmMINE", T0)
    db.session.commit()
    task = db.session.scalars(select(SopTask).filter_by(delivery="reminder").order_by(SopTask.due_at)).first()
    wecom.add(responses.POST, url("message/send"), json={**OK, "invaliduser": "", "msgid": "msg1"})
    clock.freeze(T0 + timedelta(hours=1))
    assert sop_service.run_task(task.id) == "sent"
    (card,) = bodies(wecom, "message/send")
    assert card["textcard"]["url"].endswith(f"/sidebar/?sop_step={task.id}")
    return task


def test_the_owner_sees_the_step_content_to_send(reminder, client):
    login(client, "zhangsan")
    response = client.get(f"/sidebar/api/sop-tasks/{reminder.id}")
    assert response.status_code == 200, response.json
    assert response.json["task"] == {
        "id": reminder.id, "sop_name": "新客跟进", "step_name": "报价跟进", "delivery": "reminder",
        "due_at": "2026-12-01T02:00:00Z", "status": "sent", "external_userid": "wmMINE",
        "customer_name": "王<b>小明</b>", "sent_from_sidebar_at": None}
    messages = response.json["messages"]
    assert messages[:3] == [
        {"msgtype": "text", "text": {"content": "王<b>小明</b>您好，我是张三，这是报价单"}},
        {"msgtype": "image", "image": {"mediaId": "MEDIA-image"}},
        {"msgtype": "news", "news": {"link": "https://example.com/q", "title": "报价单", "desc": "2026 版",
                                     "imgUrl": ""}}]
    assert messages[3]["msgtype"] == "miniprogram"
    assert messages[3]["miniprogram"]["imgUrl"].startswith("http://127.0.0.1:5000/sidebar/media/")
    assert messages[4] == {"msgtype": "video", "video": {"mediaId": "MEDIA-video"}}
    assert len(messages) == 5 and response.json["unsendable"] == 1  # the image given by pic_url


def test_another_staff_member_gets_403_and_nothing_else(reminder, client):
    login(client, "lisi")
    for response in (client.get(f"/sidebar/api/sop-tasks/{reminder.id}"),
                     client.post(f"/sidebar/api/sop-tasks/{reminder.id}/sent")):
        assert (response.status_code, response.json) == (403, {"code": 403, "message": "无权查看该任务"})
    login(client, "zhangsan", corp_id=OTHER_CORP_ID)
    assert client.get(f"/sidebar/api/sop-tasks/{reminder.id}").status_code == 404
    login(client, "zhangsan")
    assert client.get("/sidebar/api/sop-tasks/999999").json == {"code": 404, "message": "任务不存在"}
    db.session.expire_all()
    assert db.session.get(SopTask, reminder.id).sent_from_sidebar_at is None
    assert db.session.scalars(select(AuditLog)).all() == []


def test_sent_is_recorded_once(reminder, client):
    login(client, "zhangsan")
    clock.freeze(T0 + timedelta(hours=1, minutes=5))
    first = client.post(f"/sidebar/api/sop-tasks/{reminder.id}/sent")
    assert first.json == {"id": reminder.id, "sent_from_sidebar_at": "2026-12-01T02:05:00Z"}
    clock.freeze(T0 + timedelta(hours=2))
    assert client.post(f"/sidebar/api/sop-tasks/{reminder.id}/sent").json == first.json
    assert client.get(f"/sidebar/api/sop-tasks/{reminder.id}").json["task"]["sent_from_sidebar_at"] == (
        "2026-12-01T02:05:00Z")
    (audit,) = db.session.scalars(select(AuditLog))
    assert (audit.userid, audit.action, audit.target_type, audit.target_id) == (
        "zhangsan", "send_sop_step", "sop_task", str(reminder.id))
    (entry,) = db.session.scalars(select(TimelineEntry).filter_by(kind="sop_sent"))
    assert (entry.external_userid, entry.source, entry.summary) == (
        "wmMINE", "sidebar", "发送了SOP「新客跟进 · 报价跟进」")


def test_pending_reminders_of_a_relation(reminder, client):
    pending = library.pending_reminders(TEST_CORP_ID, "zhangsan", "wmMINE")
    assert [(p["id"], p["step_name"]) for p in pending] == [(reminder.id, "报价跟进")]  # not the later or mass-send
    assert library.pending_reminders(TEST_CORP_ID, "lisi", "wmMINE") == []
    login(client, "zhangsan")
    listed = client.get("/sidebar/api/sop-tasks", query_string={"external_userid": "wmMINE"})
    assert listed.json == {"items": pending}
    assert client.get("/sidebar/api/sop-tasks").status_code == 422
    client.post(f"/sidebar/api/sop-tasks/{reminder.id}/sent")
    assert client.get("/sidebar/api/sop-tasks", query_string={"external_userid": "wmMINE"}).json == {"items": []}
    login(client, "lisi")
    assert client.get("/sidebar/api/sop-tasks", query_string={"external_userid": "wmMINE"}).json == {"items": []}


def test_a_steps_cover_url_stops_working_when_the_sop_is_deleted(reminder, client):
    login(client, "zhangsan")
    cover = client.get(f"/sidebar/api/sop-tasks/{reminder.id}").json["messages"][3]["miniprogram"]["imgUrl"]
    path = cover.removeprefix("http://127.0.0.1:5000")
    anonymous = client.application.test_client()
    assert anonymous.get(path).status_code == 200
    deleted = client.delete(f"/api/v1/sops/{reminder.sop_id}", headers={"Authorization": f"Bearer {gen_token()}"})
    assert deleted.status_code == 204
    assert anonymous.get(path).status_code == 404
