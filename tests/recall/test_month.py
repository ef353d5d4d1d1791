"""A simulated month and a half of `flask scrm tick --now …`: silent customers turn cooling then
dormant in the nightly scoring and the matching playbooks create their recalls (one per relation,
the lowest priority winning, none within the cool-down); the recalls go out at 10:00 as a 1:1
mass-send task or a reminder card, a customer who deleted the staff member gets a contact task;
a reply, a follow-up or a re-add within 7 days wins the recall, silence loses it; the playbooks'
figures; the customers' timelines."""
from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FollowUp, Recall, TimelineEntry
from tests.churn.conftest import local, message, relation, staff
from tests.conftest import TEST_CORP_ID
from tests.recall.conftest import MASS, RESULT, SEND, TASK, customer, tag
from tests.welcome.support import OK, bodies, gen_tags, url


def recall_of(external_userid: str) -> list[Recall]:
    return list(db.session.scalars(select(Recall).filter_by(external_userid=external_userid).order_by(Recall.id)))


def playbook(api, **fields) -> dict:
    created = api("POST", "/recall-playbooks", json=fields)
    assert created.status_code == 201, created.json
    return created.json


def test_a_month_of_silence_recalls_and_outcomes(api, tick, wecom_ok):
    wecom = wecom_ok
    staff("zhangsan", "lisi")
    for ext, name in (("wmA", "王<b>小明</b>"), ("wmB", "李总"), ("wmC", "赵六"), ("wmD", "孙七"), ("wmE", "周八"),
                      ("wmF", "吴九")):
        customer(ext, name)
    for ext in ("wmA", "wmB", "wmC", "wmE", "wmF"):
        relation("zhangsan", ext, "2026-01-01 10:00")
    gone = relation("lisi", "wmD", "2026-01-01 10:00", remark_mobiles=["13812345678"])
    tag("zhangsan", "wmB", "etVIP")
    tag("zhangsan", "wmC", "etWARM")
    day = local("2026-01-03 12:00")
    while day < local("2026-02-20 12:00"):  # wmF writes every week: never silent
        message("wmF", "zhangsan", (day + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M"))
        day += timedelta(days=7)
    db.session.commit()
    gen_tags(("etVIP", "重要"), ("etWARM", "预热"))

    dormant = playbook(api, name="沉睡客户提醒", trigger="dormant", action="reminder",
                       text="{nickname}您好，好久没联系了，最近有新的优惠想和您分享。")
    vip = playbook(api, name="VIP 沉睡群发", trigger="dormant", action="mass_send", priority=10,
                   segment={"tag_ids": ["etVIP"]}, text="尊敬的客户您好，本月会员专享活动已开启。",
                   attachments=[{"msgtype": "link", "title": "会员活动", "url": "https://example.com/vip"}])
    cooling = playbook(api, name="降温关怀", trigger="cooling", action="reminder", segment={"tag_ids": ["etWARM"]},
                       text="{nickname}最近怎么样？")
    contact = playbook(api, name="删除找回", trigger="deleted_by_customer", action="contact",
                       text="{nickname}您好，我是{staff_name}，之前的联系方式失效了，想跟您确认一下需求。")

    tick(local("2026-01-02 05:00"))  # the first scoring: everyone active
    assert db.session.scalars(select(Recall)).all() == []

    # 01-16: 14 days silent → cooling; only wmC matches the cooling playbook (its segment).
    tick(local("2026-01-16 05:00"))
    [warm] = recall_of("wmC")
    assert (warm.playbook_id, warm.status, warm.due_at) == (cooling["id"], "pending", local("2026-01-16 10:00"))
    assert [r.external_userid for r in db.session.scalars(select(Recall))] == ["wmC"]
    assert bodies(wecom, SEND) == []  # not before SCRM_RECALL_SEND_AT (10:00 local)
    tick(local("2026-01-16 10:00"))
    [card] = bodies(wecom, SEND)
    assert card["touser"] == "zhangsan" and card["msgtype"] == "textcard"
    assert card["textcard"]["url"].endswith(f"/sidebar/?customer=wmC&recall={warm.id}")
    assert "赵六最近怎么样？" in card["textcard"]["description"]
    assert recall_of("wmC")[0].status == "sent"

    # The customer deletes lisi on 01-20 (del_follow_user stores it as the relation's status).
    gone.status, gone.status_changed_at = "deleted_by_customer", local("2026-01-20 09:00")
    db.session.commit()

    # 02-01: 30 days silent → dormant. wmA and wmE: the reminder playbook; wmB: the VIP mass send
    # (priority 10 beats 100, one recall); wmC: in the cool-down of its cooling recall (16 days
    # ago), none; wmD: lost, deleted by the customer → the contact task; wmF: active.
    tick(local("2026-02-01 05:00"))
    assert [(r.playbook_id, r.trigger) for r in recall_of("wmA")] == [(dormant["id"], "dormant")]
    assert [r.playbook_id for r in recall_of("wmB")] == [vip["id"]]
    assert len(recall_of("wmC")) == 1
    assert [(r.playbook_id, r.action) for r in recall_of("wmD")] == [(contact["id"], "contact")]
    assert [r.playbook_id for r in recall_of("wmE")] == [dormant["id"]]
    assert recall_of("wmF") == []
    tick(local("2026-02-01 05:30"))  # a second scheduler tick: nothing twice
    assert len(db.session.scalars(select(Recall)).all()) == 5

    tick(local("2026-02-01 10:00"))
    assert bodies(wecom, MASS) == [{
        "chat_type": "single", "external_userid": ["wmB"], "sender": "zhangsan", "allow_select": False,
        "text": {"content": "尊敬的客户您好，本月会员专享活动已开启。"},
        "attachments": [{"msgtype": "link", "link": {"title": "会员活动", "url": "https://example.com/vip"}}]}]
    cards = {c["textcard"]["url"].rsplit("recall=", 1)[1]: c for c in bodies(wecom, SEND)[1:]}
    assert len(cards) == 3 and {c["touser"] for c in cards.values()} == {"zhangsan", "lisi"}
    a, b, d, e = recall_of("wmA")[0], recall_of("wmB")[0], recall_of("wmD")[0], recall_of("wmE")[0]
    assert "王&lt;b&gt;小明&lt;/b&gt;您好" in cards[str(a.id)]["textcard"]["description"]  # escaped in the card
    assert cards[str(d.id)]["textcard"]["title"] == "客户召回任务：客户已删除你，请通过其他方式联系"
    assert (b.status, b.msgid) == ("awaiting", "msgRECALL1") and (d.status, e.status) == ("sent", "sent")
    assert (a.status, a.sent_at, a.window_ends_at) == ("sent", local("2026-02-01 10:00"), local("2026-02-08 10:00"))
    sent = db.session.scalars(select(TimelineEntry).filter_by(kind="recall_sent", external_userid="wmA")).one()
    assert sent.summary == "召回「沉睡客户提醒」：提醒" and sent.data["recall_id"] == a.id

    # The mass send: 41063 first, then sent by zhangsan and received.
    wecom.add(responses.POST, url(TASK), json={"errcode": 41063, "errmsg": "dispatching"})
    tick(local("2026-02-01 10:10"))
    assert recall_of("wmB")[0].status == "awaiting"
    wecom.replace(responses.POST, url(TASK), json={**OK, "task_list": [
        {"userid": "zhangsan", "status": 2, "send_time": 1769914800}], "next_cursor": ""})
    wecom.add(responses.POST, url(RESULT), json={**OK, "send_list": [
        {"external_userid": "wmB", "userid": "zhangsan", "status": 1, "send_time": 1769914800}], "next_cursor": ""})
    tick(local("2026-02-01 10:20"))
    b = recall_of("wmB")[0]
    assert (b.status, b.result, b.sent_at) == ("sent", "sent", local("2026-02-01 11:00"))

    # Within 7 days: wmA replies, zhangsan writes a follow-up about wmB, wmD re-adds lisi.
    message("wmA", "zhangsan", "2026-02-03 20:00")
    written = local("2026-02-04 15:00")
    db.session.add(FollowUp(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid="wmB", kind="call",
                            content="电话沟通", created_at=written, updated_at=written))
    gone = db.session.get(type(gone), gone.id)
    gone.status, gone.added_at, gone.status_changed_at = "active", local("2026-02-05 09:00"), local("2026-02-05 09:00")
    message("wmE", "zhangsan", "2026-01-31 20:00")  # before the recall: does not count
    db.session.commit()
    tick(local("2026-02-05 10:00"))
    assert [(r.outcome, r.outcome_by) for r in recall_of("wmA")] == [("won", "reply")]
    assert [(r.outcome, r.outcome_by) for r in recall_of("wmB")] == [("won", "follow_up")]
    assert [(r.outcome, r.outcome_by) for r in recall_of("wmD")] == [("won", "re_add")]
    assert recall_of("wmE")[0].outcome is None  # window still open
    won = db.session.scalars(select(TimelineEntry).filter_by(kind="recall_won", external_userid="wmA")).one()
    assert won.summary == "召回成功「沉睡客户提醒」：客户回复" and won.data["by"] == "reply"

    # After the window: wmE (nothing since) and wmC (the cooling reminder of 01-16) are lost.
    tick(local("2026-02-09 10:00"))
    assert [(r.outcome, r.outcome_by) for r in recall_of("wmE")] == [("lost", None)]
    assert recall_of("wmC")[0].outcome == "lost"

    stats = api("GET", f"/recall-playbooks/{dormant['id']}/stats?from=2026-01-01&to=2026-02-28")
    assert stats.status_code == 200, stats.json
    assert {k: stats.json[k] for k in ("sent", "won", "lost", "open", "recall_rate")} == {
        "sent": 2, "won": 1, "lost": 1, "open": 0, "recall_rate": 0.5}
    assert stats.json["by_month"] == [
        {"month": "2026-01", "sent": 0, "won": 0, "lost": 0, "open": 0, "recall_rate": None},
        {"month": "2026-02", "sent": 2, "won": 1, "lost": 1, "open": 0, "recall_rate": 0.5}]
    vip_stats = api("GET", f"/recall-playbooks/{vip['id']}/stats").json
    assert (vip_stats["sent"], vip_stats["won"], vip_stats["recall_rate"]) == (1, 1, 1.0)

    listed = api("GET", "/recalls?outcome=won")
    assert listed.status_code == 200
    assert sorted(r["external_userid"] for r in listed.json) == ["wmA", "wmB", "wmD"]
    assert json_header(listed)["total"] == 3
    only = api("GET", f"/recalls?playbook_id={dormant['id']}&status=sent").json
    assert sorted(r["external_userid"] for r in only) == ["wmA", "wmE"]


def json_header(resp) -> dict:
    return json.loads(resp.headers["X-Pagination"])
