"""Recalls in the sidebar: a relation the customer deleted shows its open recall task (the
playbook's script, the remark mobiles masked by role) and 「已联系」 records it once; a dormant
customer's reminder opens the sidebar with the script ready to send, and the send is recorded
once (audit, timeline); only the recall's own staff member sees it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from scrm import clock
from scrm.extensions import db
from scrm.models import AuditLog, Customer, Recall, Staff, StaffRole, TimelineEntry
from scrm.services import recall as service
from scrm.services.recall import create_recalls, trigger
from tests.conftest import TEST_CORP_ID
from tests.recall.conftest import SEND, entered
from tests.sidebar.conftest import login
from tests.welcome.support import bodies

NOW = datetime(2026, 3, 1, 21, 0)


def _recall(api, wecom_ok, ext: str, userid: str, **playbook) -> Recall:
    created = api("POST", "/recall-playbooks", json=playbook)
    assert created.status_code == 201, created.json
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=ext, name="王总", type=1))
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name="张三"))
    deleted = playbook["trigger"] == "deleted_by_customer"
    relation = entered(userid, ext, "lost" if deleted else "dormant", NOW,
                       reason="deleted_by_customer" if deleted else "silent",
                       status="deleted_by_customer" if deleted else "active")
    relation.remark_mobiles = ["13812345678"]
    relation.status_changed_at = NOW
    db.session.commit()
    assert create_recalls(TEST_CORP_ID, NOW) == 1
    db.session.commit()
    recall = db.session.scalar(select(Recall))
    when = trigger.due_time(NOW)
    clock.freeze(when)
    try:
        assert service.run_recall(recall.id, when) == "sent"
    finally:
        clock.freeze(None)
    return recall


def test_a_deleted_relation_shows_its_recall_task(api, client, wecom_ok):
    recall = _recall(api, wecom_ok, "wmGone", "zhangsan", name="电话回访", trigger="deleted_by_customer",
                     action="contact", text="{nickname}您好，我是{staff_name}，想跟您确认一下需求。")
    [card] = bodies(wecom_ok, SEND)
    assert card["textcard"]["url"].endswith(f"/sidebar/?customer=wmGone&recall={recall.id}")
    login(client, "zhangsan")
    body = client.get("/sidebar/api/customers/wmGone").get_json()
    assert body["relation"]["status"] == "deleted_by_customer"
    assert body["relation"]["remark_mobiles"] == ["138****5678"]  # masked: a salesperson's role
    task = body["recall"]
    assert {k: task[k] for k in ("id", "title", "status_label", "script", "done_at")} == {
        "id": recall.id, "title": "找回客户：电话回访", "status_label": "待处理",
        "script": "王总您好，我是张三，想跟您确认一下需求。", "done_at": None}
    assert task["due_at"] == "2026-03-02T02:00:00Z"
    detail = client.get(f"/sidebar/api/recalls/{recall.id}").get_json()
    assert detail["messages"] == [] and detail["recall"]["action_label"] == "其他方式联系"

    done = client.post(f"/sidebar/api/recalls/{recall.id}/sent")
    assert done.status_code == 200 and done.get_json()["status_label"] == "已联系"
    assert body["recall_reminders"] == []
    again = client.post(f"/sidebar/api/recalls/{recall.id}/sent")
    assert again.get_json()["sent_from_sidebar_at"] == done.get_json()["sent_from_sidebar_at"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="recall_contacted")) == 1
    entries = db.session.scalars(select(TimelineEntry.summary).filter_by(kind="recall_done")).all()
    assert entries == ["已通过其他方式联系「电话回访」"]
    assert client.get("/sidebar/api/customers/wmGone").get_json()["recall"]["status_label"] == "已联系"

    # A role that may see mobiles sees them in full; a decided recall is no longer offered.
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="admin", data_scope="corp",
                             can_view_mobile=True))
    db.session.commit()
    assert client.get("/sidebar/api/customers/wmGone").get_json()["relation"]["remark_mobiles"] == ["13812345678"]
    db.session.get(Recall, recall.id).outcome = "lost"
    db.session.commit()
    assert client.get("/sidebar/api/customers/wmGone").get_json()["recall"] is None


def test_a_dormant_customers_reminder_opens_the_script_ready_to_send(api, client, wecom_ok):
    recall = _recall(api, wecom_ok, "wmQuiet", "zhangsan", name="沉睡提醒", trigger="dormant", action="reminder",
                     text="{nickname}您好，好久不见<script>",
                     attachments=[{"msgtype": "link", "title": "新品", "url": "https://example.com/new"}])
    login(client, "zhangsan")
    resp = client.get(f"/sidebar/api/recalls/{recall.id}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["messages"] == [
        {"msgtype": "text", "text": {"content": "王总您好，好久不见<script>"}},  # as-is: the page inserts text only
        {"msgtype": "news", "news": {"link": "https://example.com/new", "title": "新品", "desc": "", "imgUrl": ""}}]
    assert body["recall"]["status_label"] == "待处理" and body["unsendable"] == 0
    view = client.get("/sidebar/api/customers/wmQuiet").get_json()
    assert view["recall"] is None  # not a deleted relation: its recall is a reminder, offered to send
    assert view["recall_reminders"] == [
        {"id": recall.id, "playbook_name": "沉睡提醒", "due_at": "2026-03-02T02:00:00Z"}]

    sent = client.post(f"/sidebar/api/recalls/{recall.id}/sent")
    assert sent.status_code == 200 and sent.get_json()["status_label"] == "已发送"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="send_recall")) == 1
    kinds = db.session.scalars(select(TimelineEntry.kind).filter_by(external_userid="wmQuiet")
                               .order_by(TimelineEntry.id)).all()
    assert kinds == ["recall_sent", "recall_done"]
    assert client.get("/sidebar/api/customers/wmQuiet").get_json()["recall_reminders"] == []  # sent: done
    timeline = client.get("/sidebar/api/customers/wmQuiet/timeline").get_json()["items"]
    assert [t["kind_label"] for t in timeline] == ["召回跟进", "客户召回"]


def test_only_the_recalls_staff_member_sees_it(api, client, wecom_ok):
    recall = _recall(api, wecom_ok, "wmQuiet", "zhangsan", name="沉睡提醒", trigger="dormant", action="reminder",
                     text="您好")
    login(client, "lisi")
    assert client.get(f"/sidebar/api/recalls/{recall.id}").get_json() == {"code": 403, "message": "无权查看该任务"}
    assert client.post(f"/sidebar/api/recalls/{recall.id}/sent").status_code == 403
    assert client.get("/sidebar/api/recalls/99999").status_code == 404
    assert client.get(f"/sidebar/api/recalls/{2**40}").status_code == 404
    assert db.session.get(Recall, recall.id).sent_from_sidebar_at is None
