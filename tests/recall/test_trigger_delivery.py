"""Recall creation (set-based: segment, priority, cool-down across playbooks and per playbook, a
first assessment is not an entry) and delivery edge cases: at most once with two schedulers, a
paused playbook, a relation that changed, a stale recall, message/send's per-member budget,
same-content mass sends batched into one WeCom task, WeCom refusing a customer."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import ChurnRun, FollowRelation, Recall
from scrm.services import recall as service
from scrm.services.recall import create_recalls, trigger
from scrm.wecom import ratelimit
from tests.conftest import TEST_CORP_ID
from tests.recall.conftest import MASS, SEND, entered, move, tag
from tests.welcome.support import bodies, gen_tags, url

NOW = datetime(2026, 3, 1, 21, 0)  # 05:00 on 03-02 in Shanghai
REMIND = {"name": "沉睡提醒", "trigger": "dormant", "action": "reminder", "text": "{nickname}您好"}


def recalls() -> list[tuple[str, int]]:
    db.session.expire_all()
    return [(r.external_userid, r.playbook_id) for r in db.session.scalars(select(Recall).order_by(Recall.id))]


def create(at: datetime = NOW) -> int:
    created = create_recalls(TEST_CORP_ID, at)
    db.session.commit()
    return created


def test_segment_priority_and_levels(api):
    gen_tags(("etVIP", "重要"))
    general = api("POST", "/recall-playbooks", json=REMIND).json["id"]
    vip = api("POST", "/recall-playbooks", json={**REMIND, "name": "VIP", "priority": 1,
                                                 "segment": {"tag_ids": ["etVIP"]}}).json["id"]
    lost = api("POST", "/recall-playbooks", json={**REMIND, "name": "流失", "trigger": "lost"}).json["id"]
    entered("zhangsan", "wmA", "dormant", NOW)
    entered("zhangsan", "wmVIP", "dormant", NOW)
    tag("zhangsan", "wmVIP", "etVIP")
    entered("zhangsan", "wmOld", "dormant", NOW - timedelta(days=3))  # entered before the window
    entered("zhangsan", "wmFirst", "dormant", NOW, previous=None)  # its first assessment
    entered("zhangsan", "wmLost", "lost", NOW)
    entered("zhangsan", "wmDel", "lost", NOW, reason="deleted_by_customer", status="deleted_by_customer")
    entered("zhangsan", "wmCool", "cooling", NOW)
    db.session.commit()
    assert create() == 3
    assert sorted(recalls()) == [("wmA", general), ("wmLost", lost), ("wmVIP", vip)]
    assert create() == 0  # repeated: nothing twice
    due = db.session.scalar(select(Recall.due_at))
    assert due == datetime(2026, 3, 2, 2, 0)  # the next 10:00 in Shanghai


def test_a_relation_added_after_the_first_night_is_recalled_on_its_first_assessment(api):
    """Added after the corp's first nightly run and silent until its first scoring (e.g. a
    scheduler down for a month): its first level is an entry; an older relation's is not."""
    general = api("POST", "/recall-playbooks", json=REMIND).json["id"]
    db.session.add(ChurnRun(corp_id=TEST_CORP_ID, run_day=date(2025, 12, 1), status="done", relations=10,
                            started_at=NOW - timedelta(days=90)))
    new = entered("zhangsan", "wmNew", "dormant", NOW, previous=None)
    new.added_at = NOW - timedelta(days=31)
    entered("zhangsan", "wmOld", "dormant", NOW, previous=None)  # added a year ago: before the first run
    db.session.commit()
    assert create() == 1
    assert recalls() == [("wmNew", general)]


def test_cool_down_across_playbooks_and_per_playbook(api):
    cooling = api("POST", "/recall-playbooks", json={**REMIND, "name": "降温", "trigger": "cooling"}).json["id"]
    dormant = api("POST", "/recall-playbooks", json=REMIND).json["id"]
    a = entered("zhangsan", "wmA", "cooling", NOW)
    b = entered("lisi", "wmA", "cooling", NOW)  # the same customer with another member: its own relation
    db.session.commit()
    assert create() == 2
    # 16 days later both are dormant: within the default 30-day cool-down, no second recall.
    later = NOW + timedelta(days=16)
    move(a, "dormant", later)
    move(b, "dormant", later)
    db.session.commit()
    assert create(later) == 0
    # 31 days after the first recall the dormant playbook may recall again (a new entry).
    much_later = NOW + timedelta(days=31)
    move(a, "cooling", much_later - timedelta(days=1))
    move(a, "dormant", much_later)
    db.session.commit()
    assert create(much_later) == 1
    assert recalls()[-1] == ("wmA", dormant)
    # A playbook's own cool-down: 60 days.
    api("PATCH", f"/recall-playbooks/{dormant}", json={"cooldown_days": 60})
    api("POST", f"/recall-playbooks/{cooling}/pause")
    move(b, "cooling", much_later - timedelta(days=1))
    move(b, "dormant", much_later)
    db.session.commit()
    assert create(much_later) == 0  # lisi's recall was 31 days ago: within 60


@pytest.fixture
def reminder(api, wecom_ok):
    pid = api("POST", "/recall-playbooks", json=REMIND).json["id"]
    entered("zhangsan", "wmA", "dormant", NOW)
    db.session.commit()
    create()
    return pid, db.session.scalar(select(Recall.id))


def at(when: datetime):
    clock.freeze(when)
    return when


@pytest.fixture(autouse=True)
def _unfreeze():
    yield
    clock.freeze(None)


def test_a_recall_goes_out_at_most_once(reminder, wecom_ok):
    _, recall_id = reminder
    when = at(trigger.due_time(NOW))
    assert service.run_recall(recall_id, when) == "sent"
    assert service.run_recall(recall_id, when) == "skipped"  # the second scheduler's job
    assert len(bodies(wecom_ok, SEND)) == 1


def test_paused_stale_and_changed_relations_are_not_sent(api, reminder, wecom_ok):
    pid, recall_id = reminder
    when = at(trigger.due_time(NOW))
    api("POST", f"/recall-playbooks/{pid}/pause")
    assert service.run_recall(recall_id, when) == "paused"
    assert service.sweep(when) == 0  # a paused playbook's recalls are not enqueued
    api("POST", f"/recall-playbooks/{pid}/resume")
    late = at(when + timedelta(hours=25))
    assert service.run_recall(recall_id, late) == "skipped"
    assert db.session.get(Recall, recall_id).error.startswith("stale")
    assert bodies(wecom_ok, SEND) == []


def test_a_relation_that_ended_meanwhile_is_skipped(reminder, wecom_ok):
    _, recall_id = reminder
    db.session.scalar(select(FollowRelation)).status = "deleted_by_staff"
    db.session.commit()
    assert service.run_recall(recall_id, at(trigger.due_time(NOW))) == "skipped"
    assert db.session.get(Recall, recall_id).error == "relation_changed"
    assert bodies(wecom_ok, SEND) == []


def test_reminders_respect_the_per_member_budget(api, wecom_ok, monkeypatch):
    monkeypatch.setitem(ratelimit.MEMBER_LIMITS, "message/send", ((60, 1), (3600, 1000)))
    api("POST", "/recall-playbooks", json=REMIND)
    entered("zhangsan", "wmA", "dormant", NOW)
    entered("zhangsan", "wmB", "dormant", NOW)
    db.session.commit()
    create()
    first, second = db.session.scalars(select(Recall.id).order_by(Recall.id)).all()
    when = at(trigger.due_time(NOW))
    assert service.run_recall(first, when) == "sent"
    assert service.run_recall(second, when) == "throttled"
    assert db.session.get(Recall, second).status == "pending"  # the next sweep tries again
    assert len(bodies(wecom_ok, SEND)) == 1


def test_same_content_mass_sends_go_out_as_one_task_and_refusals_fail(api, wecom_ok):
    wecom_ok.replace(responses.POST, url(MASS),
                     json={"errcode": 0, "errmsg": "ok", "fail_list": ["wmB"], "msgid": "msgBATCH"})
    api("POST", "/recall-playbooks", json={**REMIND, "action": "mass_send", "text": "本月会员活动已开启"})
    for ext in ("wmA", "wmB", "wmC"):
        entered("zhangsan", ext, "dormant", NOW)
    db.session.commit()
    create()
    ids = db.session.scalars(select(Recall.id).order_by(Recall.id)).all()
    when = at(trigger.due_time(NOW))
    assert service.run_recall(ids[0], when) == "awaiting"
    assert [b["external_userid"] for b in bodies(wecom_ok, MASS)] == [["wmA", "wmB", "wmC"]]
    db.session.expire_all()
    states = {r.external_userid: (r.status, r.msgid) for r in db.session.scalars(select(Recall))}
    assert states == {"wmA": ("awaiting", "msgBATCH"), "wmB": ("failed", "msgBATCH"), "wmC": ("awaiting", "msgBATCH")}
    assert service.run_recall(ids[2], when) == "skipped"  # claimed with the first
