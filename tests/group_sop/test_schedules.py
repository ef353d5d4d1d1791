"""Every schedule kind runs at the right instants, by `flask scrm tick --now`, in the corp's time
zone: Asia/Shanghai and America/New_York (which leaves daylight saving time on 1 November 2026)."""
from __future__ import annotations

from datetime import datetime, timedelta

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import GroupChat
from scrm.services.group_sop import occurrences
from tests.group_sop.conftest import MASS, MON, bodies, executions


def plan(api, schedule: dict, *, targets=None, steps=None, delivery="mass_send", now=MON) -> dict:
    """A plan created through the Open API at ``now``."""
    clock.freeze(now)
    try:
        created = api("POST", "/group-sops", json={
            "name": "社群早报", "targets": targets or {"owners": ["zhangsan"]}, "schedule": schedule,
            "delivery": delivery, "steps": steps or [{"text": "{group_name} 早上好"}]})
    finally:
        clock.freeze(None)
    assert created.status_code == 201, created.json
    return created.json


def sent_at(wecom) -> list[list[str]]:
    return [b["chat_id_list"] for b in bodies(wecom, MASS)]


def test_daily_plan_runs_each_local_morning_for_the_owners_groups(app, api, groups, mass_ok, tick):
    created = plan(api, {"kind": "daily", "at_time": "09:00"})
    assert created["target_groups"] == 2 and created["schedule_text"] == "每天 09:00"
    # created ahead for the horizon (7 days): 2 groups × 7 mornings, 09:00 Shanghai = 01:00 UTC
    rows = executions(plan_id=created["id"])
    assert len(rows) == 14
    assert {r.due_at for r in rows} == {MON + timedelta(days=d, hours=1) for d in range(7)}

    tick(MON + timedelta(minutes=59))
    assert bodies(mass_ok, MASS) == []
    tick(MON + timedelta(hours=1))
    assert sorted(b["chat_id_list"] for b in bodies(mass_ok, MASS)) == [["wrA"], ["wrB"]]
    # one task per owner and content: {group_name} differs, so one per group here
    assert {b["text"]["content"] for b in bodies(mass_ok, MASS)} == {"福利群1 早上好", "福利群2 早上好"}
    assert all(b["sender"] == "zhangsan" and b["chat_type"] == "group" for b in bodies(mass_ok, MASS))
    # across the month: each day exactly once more, never twice
    for day in range(1, 30):
        tick(MON + timedelta(days=day, hours=1, minutes=day % 3))
    assert len(bodies(mass_ok, MASS)) == 2 * 30
    statuses = {r.status for r in executions(plan_id=created["id"]) if r.due_at <= MON + timedelta(days=29, hours=1)}
    assert statuses == {"awaiting"}


def test_same_content_for_several_groups_is_one_task_for_the_owner(app, api, groups, mass_ok, tick):
    plan(api, {"kind": "daily", "at_time": "20:30"}, steps=[{"text": "今晚八点半直播，欢迎参加"}])
    tick(MON + timedelta(hours=12, minutes=30))
    assert bodies(mass_ok, MASS) == [{"chat_type": "group", "sender": "zhangsan", "chat_id_list": ["wrA", "wrB"],
                                      "text": {"content": "今晚八点半直播，欢迎参加"}}]


def test_weekly_and_monthly_in_new_york_across_the_dst_change(app, api, groups, mass_ok):
    override(app, TIMEZONE="America/New_York")
    weekly = {"kind": "weekly", "weekdays": [1, 3], "at_time": "20:00"}
    start = datetime(2026, 10, 26, 12, 0)  # Monday 26 October, EDT (UTC-4)
    got = occurrences(weekly, start, start + timedelta(days=14))
    # Mon 26, Wed 28 Oct at 20:00 EDT = 00:00 UTC next day; after 1 Nov EST: 01:00 UTC
    assert got == [datetime(2026, 10, 27, 0, 0), datetime(2026, 10, 29, 0, 0),
                   datetime(2026, 11, 3, 1, 0), datetime(2026, 11, 5, 1, 0)]
    monthly = {"kind": "monthly", "month_days": [1, 31], "at_time": "08:00"}
    got = occurrences(monthly, datetime(2026, 10, 1, 0, 0), datetime(2027, 1, 1, 0, 0))
    # the 31st of a 30-day month is its last day; 08:00 EDT = 12:00 UTC, EST = 13:00 UTC
    assert got == [datetime(2026, 10, 1, 12, 0), datetime(2026, 10, 31, 12, 0), datetime(2026, 11, 1, 13, 0),
                   datetime(2026, 11, 30, 13, 0), datetime(2026, 12, 1, 13, 0), datetime(2026, 12, 31, 13, 0)]
    once = {"kind": "once", "at": "2026-11-20T18:30"}
    assert occurrences(once, start, start + timedelta(days=60)) == [datetime(2026, 11, 20, 23, 30)]


def test_weekly_plan_end_to_end_in_shanghai_with_start_and_end_dates(app, api, groups, mass_ok, tick):
    created = plan(api, {"kind": "weekly", "weekdays": [3, 6], "at_time": "19:00", "start_date": "2026-11-05",
                         "end_date": "2026-11-21"}, targets={"owners": ["lisi"]})
    for day in range(0, 28):
        tick(MON + timedelta(days=day, hours=11))  # 19:00 Shanghai each day
    days = [r.due_at.date().isoformat() for r in executions(plan_id=created["id"])]
    # Wednesdays and Saturdays from Thu 5 Nov to Sat 21 Nov: 7 (Sat), 11, 14, 18, 21
    assert days == ["2026-11-07", "2026-11-11", "2026-11-14", "2026-11-18", "2026-11-21"]
    assert len(bodies(mass_ok, MASS)) == 5
    assert all(b["chat_id_list"] == ["wrC"] and b["sender"] == "lisi" for b in bodies(mass_ok, MASS))


def test_monthly_plan_runs_on_the_last_day_for_day_31(app, api, groups, mass_ok, tick):
    created = plan(api, {"kind": "monthly", "month_days": [31], "at_time": "10:00"}, targets={"chat_ids": ["wrC"]})
    tick(datetime(2026, 11, 30, 2, 0))  # 30 November 10:00 Shanghai
    assert [r.due_at for r in executions(plan_id=created["id"])] == [datetime(2026, 11, 30, 2, 0)]
    assert len(bodies(mass_ok, MASS)) == 1


def test_once_runs_once(app, api, groups, mass_ok, tick):
    created = plan(api, {"kind": "once", "at": "2026-11-03T15:00"})
    assert [r.due_at for r in executions(plan_id=created["id"])] == [datetime(2026, 11, 3, 7, 0)] * 2
    tick(datetime(2026, 11, 3, 7, 0))
    tick(datetime(2026, 11, 3, 7, 5))
    tick(datetime(2026, 11, 4, 7, 0))
    assert len(bodies(mass_ok, MASS)) == 2  # wrA and wrB, once each


def test_group_created_series_and_new_groups_join_automatically(app, api, groups, mass_ok, tick):
    created = plan(api, {"kind": "group_created"}, targets={"name_contains": "福利"}, steps=[
        {"name": "群规", "delay_minutes": 60, "text": "欢迎来到{group_name}，请阅读群规"},
        {"name": "次日福利", "day_offset": 1, "at_time": "10:00", "text": "今日福利已发放"}])
    assert executions(plan_id=created["id"]) == []  # the existing groups were created before the plan
    db.session.add(GroupChat(corp_id=groups["wrA"].corp_id, chat_id="wrNEW", name="福利群3", owner="zhangsan",
                             status="active", create_time=MON + timedelta(hours=2)))
    db.session.commit()
    tick(MON + timedelta(hours=2, minutes=1))
    rows = executions(plan_id=created["id"])
    assert [(r.chat_id, r.due_at) for r in rows] == [("wrNEW", MON + timedelta(hours=3)),
                                                     ("wrNEW", datetime(2026, 11, 3, 2, 0))]
    tick(MON + timedelta(hours=3))
    tick(datetime(2026, 11, 3, 2, 0))
    assert [b["text"]["content"] for b in bodies(mass_ok, MASS)] == ["欢迎来到福利群3，请阅读群规", "今日福利已发放"]


def test_an_event_in_the_second_the_plan_started_counts(app, api, groups, mass_ok, tick):
    """WeCom's times are whole seconds: a group created in the same second as the plan (after it)
    carries a create_time before the plan's start to the microsecond, and still gets the series."""
    started = MON + timedelta(hours=3, microseconds=400_000)
    created = plan(api, {"kind": "group_created"}, targets={"name_contains": "福利"}, now=started,
                   steps=[{"delay_minutes": 1, "text": "欢迎"}])
    db.session.add(GroupChat(corp_id=groups["wrA"].corp_id, chat_id="wrSAME", name="福利群9", owner="zhangsan",
                             status="active", create_time=MON + timedelta(hours=3)))
    db.session.commit()
    tick(MON + timedelta(hours=3, minutes=1))
    assert [(r.chat_id, r.status) for r in executions(plan_id=created["id"])] == [("wrSAME", "awaiting")]
