"""Churn alerts when a customer deletes a member (issue #13, part 3): rows recorded by the
del_follow_user callback, one message per recipient per sweep holding every name, the
per-member message/send budget, the manager's copy, exactly-once sending, WeCom errors."""
from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from flask import current_app

from scrm.extensions import db
from scrm.models import ChurnAlert, FollowRelation, Staff
from scrm.services import app_messages, churn_alerts
from scrm.services.churn_alerts import sending
from scrm.wecom import RateLimiter
from tests.churn.alerts_support import T0, alerts, customer, deletion_xml, org, to
from tests.conftest import TEST_CORP_ID
from tests.helpers import wecom_fixture

LATER = T0 + timedelta(seconds=30)  # past the 20 s batch window


@pytest.fixture
def team(app, frozen):
    org()
    for ext, name in (("wmA", "赵一"), ("wmB", "钱二"), ("wmC", "孙三")):
        customer(ext, name)


def test_the_callback_records_an_alert_for_the_member_and_their_manager(team, deliver):
    deliver(deletion_xml("wmA"))
    rows = alerts()
    assert sorted((r.kind, r.recipient_userid, r.about_userid, r.external_userid, r.status) for r in rows) == [
        ("customer_deleted", "wangwu", "zhangsan", "wmA", "pending"),
        ("customer_deleted", "zhangsan", "zhangsan", "wmA", "pending")]
    # WeCom re-sends the event (another CreateTime): the deletion is known, nothing is added.
    deliver(deletion_xml("wmA", at=T0 + timedelta(seconds=5)))
    assert len(alerts()) == 2


def test_a_member_deleting_a_customer_is_no_deletion_alert(team, deliver):
    deliver(deletion_xml("wmA", change_type="del_external_contact"))
    assert alerts() == []


def test_one_sweep_sends_one_message_per_recipient_with_every_name(team, deliver, sent):
    deliver(*(deletion_xml(ext, at=T0 + timedelta(seconds=i)) for i, ext in enumerate(("wmA", "wmB", "wmC"))))

    assert churn_alerts.sweep(LATER) == 2
    [mine] = to(sent, "zhangsan")
    [boss] = to(sent, "wangwu")
    assert mine["msgtype"] == "text" and mine["agentid"] == 1000002 and mine["enable_duplicate_check"] == 1
    assert "3 位客户删除了你：赵一、钱二、孙三" in mine["text"]["content"]
    assert "张三 的 3 位客户删除了他/她：赵一、钱二、孙三" in boss["text"]["content"]
    assert {(r.status, r.msgid, r.sent_at) for r in alerts()} == {("sent", "xxxx", LATER)}

    assert churn_alerts.sweep(LATER + timedelta(minutes=1)) == 0  # nothing twice
    assert len(sent["bodies"]) == 2


def test_a_single_deletion_is_a_card_opening_the_customer_in_the_sidebar(app, frozen, deliver, sent):
    org()
    customer("wmX", "<b>阿明</b>", remark="李总<script>")
    deliver(deletion_xml("wmX"))
    churn_alerts.sweep(LATER)

    [card] = to(sent, "zhangsan")
    assert card["msgtype"] == "textcard"
    assert card["textcard"]["title"] == "客户删除了你"
    assert card["textcard"]["url"].endswith("/sidebar/?customer=wmX")
    assert "李总&lt;script&gt;" in card["textcard"]["description"]  # the member's remark, escaped
    [boss] = to(sent, "wangwu")  # the manager may not open the customer: a text, brackets defused
    assert "张三 的 1 位客户删除了他/她：李总＜script＞" in boss["text"]["content"]


def test_a_burst_waits_for_the_batch_window_then_goes_out_together(team, deliver, sent):
    deliver(deletion_xml("wmA"))
    assert churn_alerts.sweep(T0 + timedelta(seconds=10)) == 0  # the first alert is 10 s old
    assert sent["bodies"] == []
    deliver(deletion_xml("wmB", at=T0 + timedelta(seconds=12)))
    assert churn_alerts.sweep(T0 + timedelta(seconds=25)) == 2
    assert "2 位客户删除了你：赵一、钱二" in to(sent, "zhangsan")[0]["text"]["content"]


def test_fifty_deletions_in_a_minute_are_one_message_each_within_a_minute(app, frozen, deliver, sent):
    org()
    for i in range(50):
        customer(f"wm{i:02d}", f"客户{i:02d}")
    deliver(*(deletion_xml(f"wm{i:02d}", at=T0 + timedelta(seconds=i)) for i in range(50)))

    assert churn_alerts.sweep(T0 + timedelta(seconds=55)) == 2
    [mine] = to(sent, "zhangsan")
    assert mine["text"]["content"].count("客户") >= 10 and "50 位客户删除了你：客户00、" in mine["text"]["content"]
    assert "客户09等" in mine["text"]["content"]  # SCRM_CHURN_ALERT_NAMES (10) names, then 等
    assert len(mine["text"]["content"].encode()) <= 2048
    assert {r.status for r in alerts()} == {"sent"}


def test_a_member_at_the_minute_budget_gets_the_alerts_next_minute_and_nothing_is_lost(team, deliver, sent):
    deliver(deletion_xml("wmA"), deletion_xml("wmB"))
    limiter = RateLimiter(current_app.extensions["redis"], TEST_CORP_ID)
    minute = LATER.replace(tzinfo=UTC).timestamp()
    assert all(limiter.member_allows("message/send", "zhangsan", at=minute) for _ in range(30))  # reminders

    assert churn_alerts.sweep(LATER) == 1  # the manager only
    assert to(sent, "zhangsan") == [] and len(to(sent, "wangwu")) == 1
    assert {r.status for r in alerts(recipient_userid="zhangsan")} == {"pending"}

    next_minute = LATER.replace(second=0) + timedelta(minutes=1)
    assert churn_alerts.sweep(next_minute) == 1
    [mine] = to(sent, "zhangsan")
    assert "2 位客户删除了你：赵一、钱二" in mine["text"]["content"]
    assert {r.status for r in alerts()} == {"sent"}


def test_forty_members_each_get_their_own_message_in_one_sweep(app, frozen, deliver, sent):
    org(manager=False)
    db.session.add_all(Staff(corp_id=TEST_CORP_ID, userid=f"s{i:02d}", name=f"员工{i}", status=1) for i in range(40))
    db.session.commit()
    for i in range(40):
        customer(f"wm{i:02d}", f"客户{i:02d}", userid=f"s{i:02d}")
    deliver(*(deletion_xml(f"wm{i:02d}", userid=f"s{i:02d}") for i in range(40)))

    assert churn_alerts.sweep(LATER) == 40
    assert sorted(body["touser"] for body in sent["bodies"]) == [f"s{i:02d}" for i in range(40)]


def test_without_a_manager_only_the_member_is_told(app, frozen, deliver, sent):
    org(manager=False)
    customer("wmA", "赵一")
    deliver(deletion_xml("wmA"))
    assert [r.recipient_userid for r in alerts()] == ["zhangsan"]
    churn_alerts.sweep(LATER)
    assert [body["touser"] for body in sent["bodies"]] == ["zhangsan"]


def test_two_sweeps_at_once_send_each_alert_once(team, deliver, sent):
    deliver(deletion_xml("wmA"), deletion_xml("wmB"))
    # Sweep A reads who is due, then sweep B (another scheduler) runs in full before A sends.
    due_for_a = sending.due_recipients(LATER)
    assert len(due_for_a) == 2
    assert churn_alerts.sweep(LATER) == 2
    assert [sending.send_to(corp, recipient, LATER) for corp, recipient in due_for_a] == ["nothing", "nothing"]
    assert len(sent["bodies"]) == 2


def test_a_claim_left_by_a_dead_sweep_is_sent_later(team, deliver, sent):
    deliver(deletion_xml("wmA"))
    db.session.execute(ChurnAlert.__table__.update().values(status="sending", claim_token="dead", claimed_at=LATER))
    db.session.commit()
    assert churn_alerts.sweep(LATER + timedelta(minutes=1)) == 0
    assert churn_alerts.sweep(LATER + app_messages.STALE_CLAIM + timedelta(seconds=1)) == 2


def test_a_retryable_wecom_error_is_retried_after_a_delay(team, deliver, sent):
    deliver(deletion_xml("wmA"))
    sent["replies"] = [{"errcode": -1, "errmsg": "system busy"}, {"errcode": 45033, "errmsg": "api concurrent"}]

    churn_alerts.sweep(LATER)  # -1 for the first recipient, 45033 for the second
    rows = alerts()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert {r.error.split(":")[0] for r in rows} == {"message/send errcode=-1", "message/send errcode=45033"}
    assert all(r.next_attempt_at == LATER + timedelta(seconds=5) for r in rows)

    assert churn_alerts.sweep(LATER + timedelta(seconds=2)) == 0  # not before next_attempt_at
    assert churn_alerts.sweep(LATER + timedelta(seconds=6)) == 2
    assert {(r.status, r.attempts, r.error) for r in alerts()} == {("sent", 2, None)}
    assert len(sent["bodies"]) == 4


def test_retryable_errors_give_up_after_the_task_limit(team, deliver, sent):
    deliver(deletion_xml("wmA"))
    sent["replies"] = [{"errcode": -1, "errmsg": "system busy"}] * 20
    at = LATER
    for _ in range(app_messages.MAX_ATTEMPTS):
        churn_alerts.sweep(at)
        at += timedelta(minutes=10)
    assert {(r.status, r.attempts) for r in alerts()} == {("failed", app_messages.MAX_ATTEMPTS)}
    churn_alerts.sweep(at)
    assert len(sent["bodies"]) == 2 * app_messages.MAX_ATTEMPTS


def test_a_permanent_wecom_error_is_recorded_on_the_rows(team, deliver, sent):
    deliver(deletion_xml("wmA"))
    sent["replies"] = [{"errcode": 81013, "errmsg": "user & party & tag all invalid"},
                       {**wecom_fixture("message/send"), "invaliduser": "zhangsan"}]
    churn_alerts.sweep(LATER)
    rows = {r.recipient_userid: r for r in alerts()}
    first, second = (rows[b["touser"]] for b in sent["bodies"])
    assert (first.status, first.error) == ("failed", "message/send errcode=81013: user & party & tag all invalid")
    assert (second.status, second.error) == ("failed", "message/send: recipient in invaliduser")
    churn_alerts.sweep(LATER + timedelta(hours=1))
    assert len(sent["bodies"]) == 2  # not retried


def test_a_member_who_left_is_not_told_but_their_manager_is(team, deliver):
    db.session.query(Staff).filter_by(userid="zhangsan").update({"left_at": T0 - timedelta(days=1)})
    db.session.commit()
    deliver(deletion_xml("wmA"))
    assert [r.recipient_userid for r in alerts()] == ["wangwu"]



def test_a_deletion_the_sync_saw_first_is_still_told(team, deliver, sent):
    # The nightly sync found the pair gone a second after the customer deleted the member, before
    # the callback arrived: the event still says who ended it (and the member hears).
    db.session.query(FollowRelation).filter_by(external_userid="wmA").update(
        {"status": "deleted_unknown", "status_changed_at": T0 + timedelta(seconds=1)})
    db.session.commit()
    deliver(deletion_xml("wmA"))
    relation = db.session.query(FollowRelation).filter_by(external_userid="wmA").one()
    assert (relation.status, relation.status_changed_at) == ("deleted_by_customer", T0)
    assert {r.recipient_userid for r in alerts()} == {"zhangsan", "wangwu"}
