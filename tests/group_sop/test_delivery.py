"""Delivery and results: the new-member series (a member who leaves is skipped), mixed per-group
results read back from WeCom, two schedulers at once, the monthly cap, owners who left,
reminders to the owner, pause / resume / edit / delete."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import responses

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import GroupChat, GroupCodeChat, GroupMember, Staff
from scrm.services import group_sop
from tests.api.factories import gen_member
from tests.conftest import TEST_CORP_ID
from tests.group_sop.conftest import MASS, MON, OK, RESULT, SEND, TASK, bodies, executions, url


def plan(api, body: dict, now=MON) -> dict:
    clock.freeze(now)
    try:
        created = api("POST", "/group-sops", json={"name": "计划", "delivery": "mass_send", **body})
    finally:
        clock.freeze(None)
    assert created.status_code == 201, created.json
    return created.json


SERIES = [{"name": "入群规则", "delay_minutes": 0, "text": "欢迎{nickname}加入{group_name}，请先看群规"},
          {"name": "次日福利", "day_offset": 1, "at_time": "10:00", "text": "{nickname}，新人福利已到账"},
          {"name": "第3天互动", "day_offset": 3, "at_time": "20:00", "text": "今晚群内抽奖，快来参与"}]


def test_new_member_series_member_who_leaves_is_skipped(app, api, groups, mass_ok, tick):
    created = plan(api, {"targets": {"chat_ids": ["wrA"]}, "schedule": {"kind": "member_joined"}, "steps": SERIES})
    joined = MON + timedelta(hours=1)  # 09:00 Shanghai, Monday
    gen_member(groups["wrA"], "wmAnna", name="安娜", join_time=joined)
    gen_member(groups["wrA"], "wmBo", name="<b>波</b>", join_time=joined + timedelta(seconds=20))
    gen_member(groups["wrA"], "zhangsan", type=1, join_time=joined)  # staff: no series
    tick(joined + timedelta(minutes=1))
    rows = executions(plan_id=created["id"])
    assert {(r.member_id, r.due_at) for r in rows} == {
        (m, d) for m in ("wmAnna", "wmBo")
        for d in (joined if m == "wmAnna" else joined + timedelta(seconds=20),
                  datetime(2026, 11, 3, 2, 0), datetime(2026, 11, 5, 12, 0))}
    # step 1 went out at once, one message for both (due within the same minute)
    assert bodies(mass_ok, MASS) == [{"chat_type": "group", "sender": "zhangsan", "chat_id_list": ["wrA"],
                                      "text": {"content": "欢迎安娜、<b>波</b>加入福利群1，请先看群规"}}]
    # 波 leaves on day 2: day 3 is skipped for him, still sent for 安娜
    tick(datetime(2026, 11, 3, 2, 0))
    assert bodies(mass_ok, MASS)[-1]["text"] == {"content": "安娜、<b>波</b>，新人福利已到账"}
    member = db.session.query(GroupMember).filter_by(member_id="wmBo").one()
    member.quit_time, member.quit_scene = datetime(2026, 11, 4, 3, 0), 0
    db.session.commit()
    tick(datetime(2026, 11, 5, 12, 0))
    day3 = {r.member_id: (r.status, r.result) for r in executions(plan_id=created["id"])
            if r.due_at == datetime(2026, 11, 5, 12, 0)}
    assert day3 == {"wmAnna": ("awaiting", "not_sent_yet"), "wmBo": ("skipped", "member_left")}
    assert len(bodies(mass_ok, MASS)) == 3


def test_mixed_per_group_results_and_dispatching(app, api, groups, wecom, tick):
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgMIX"})
    plan(api, {"targets": {"owners": ["zhangsan", "lisi"]}, "schedule": {"kind": "daily", "at_time": "09:00"},
               "steps": [{"text": "每日一题"}]})
    db.session.add(GroupChat(corp_id=TEST_CORP_ID, chat_id="wrD", name="D群", owner="zhangsan", status="active"))
    db.session.commit()
    with_d = MON + timedelta(minutes=20)
    tick(with_d)  # replanning picks up wrD
    tick(MON + timedelta(hours=1))
    assert sorted(b["sender"] for b in bodies(wecom, MASS)) == ["lisi", "zhangsan"]
    zhang = [b for b in bodies(wecom, MASS) if b["sender"] == "zhangsan"][0]
    assert zhang["chat_id_list"] == ["wrA", "wrB", "wrD"]

    wecom.add(responses.POST, url(TASK), json={"errcode": 41063, "errmsg": "dispatching"})
    tick(MON + timedelta(hours=1, minutes=10))
    assert {r.next_check_at for r in executions(due_at=MON + timedelta(hours=1))} == \
        {MON + timedelta(hours=1, minutes=11)}
    wecom.replace(responses.POST, url(TASK), json={**OK, "task_list": [
        {"userid": "zhangsan", "status": 2, "send_time": 1793000000}, {"userid": "lisi", "status": 0}],
        "next_cursor": ""})
    wecom.add(responses.POST, url(RESULT), json={**OK, "send_list": [
        {"chat_id": "wrA", "userid": "zhangsan", "status": 1, "send_time": 1793000000},
        {"chat_id": "wrB", "userid": "zhangsan", "status": 3},
        {"chat_id": "wrD", "userid": "zhangsan", "status": 2}], "next_cursor": ""})
    tick(MON + timedelta(hours=1, minutes=11))
    got = {r.chat_id: (r.status, r.result) for r in executions(due_at=MON + timedelta(hours=1))}
    assert got == {"wrA": ("sent", "sent"), "wrB": ("failed", "already_received"), "wrD": ("failed", "not_owner"),
                   "wrC": ("awaiting", "not_sent_yet")}


def test_two_schedulers_at_once_create_and_send_each_execution_once(app, api, groups, mass_ok, tick):
    created = plan(api, {"targets": {"owners": ["lisi"]}, "schedule": {"kind": "daily", "at_time": "09:00"},
                         "steps": [{"text": "早安"}]})
    at = MON + timedelta(hours=1)
    errors = []

    def scheduler():
        try:
            with app.app_context():
                clock.freeze(at)
                group_sop.sweep(at)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    from scrm.models import GroupSop
    db.session.query(GroupSop).update({"planned_at": None})  # both schedulers plan again
    db.session.commit()
    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.freeze(None)
    assert errors == []
    tick(at)
    rows = executions(plan_id=created["id"], due_at=at)
    assert [(r.chat_id, r.status) for r in rows] == [("wrC", "awaiting")]
    assert len(bodies(mass_ok, MASS)) == 1


def test_monthly_cap_is_reported_not_silently_dropped(app, api, groups, mass_ok, tick):
    override(app, GROUP_MONTHLY_CAP=2)
    created = plan(api, {"targets": {"chat_ids": ["wrC"]}, "schedule": {"kind": "daily", "at_time": "09:00"},
                         "steps": [{"text": "每日资讯"}]})
    for day in range(3):
        tick(MON + timedelta(days=day, hours=1))
    rows = executions(plan_id=created["id"])[:3]
    assert [(r.status, r.result) for r in rows] == [("awaiting", "not_sent_yet"), ("awaiting", "not_sent_yet"),
                                                    ("skipped", "monthly_cap")]
    assert "2 mass sends this month" in rows[2].error
    assert len(bodies(mass_ok, MASS)) == 2
    results = api("GET", f"/group-sops/{created['id']}/results").json
    assert results["by_result"]["monthly_cap"] == 1 and results["monthly_cap"] == 2


def test_owner_left_fails_with_the_reason(app, api, groups, mass_ok, tick):
    created = plan(api, {"targets": {"owners": ["lisi"]}, "schedule": {"kind": "daily", "at_time": "09:00"},
                         "steps": [{"text": "早安"}]})
    db.session.query(Staff).filter_by(userid="lisi").update({"status": 5, "left_at": MON})
    db.session.commit()
    tick(MON + timedelta(hours=1))
    row = executions(plan_id=created["id"])[0]
    assert (row.status, row.result) == ("failed", "owner_left")
    assert bodies(mass_ok, MASS) == []


def test_reminder_card_to_the_owner_lists_the_groups_escaped(app, api, groups, wecom, tick):
    wecom.add(responses.POST, url(SEND), json={**OK, "invaliduser": ""})
    db.session.query(GroupChat).filter_by(chat_id="wrA").update({"name": "<b>福利</b>群"})
    db.session.commit()
    created = plan(api, {"delivery": "reminder", "targets": {"owners": ["zhangsan"]},
                         "schedule": {"kind": "weekly", "weekdays": [1], "at_time": "10:00"},
                         "steps": [{"name": "周一早报", "text": "本周活动：{group_name}专享"}]})
    tick(MON + timedelta(hours=2))
    (card,) = bodies(wecom, SEND)
    assert card["touser"] == "zhangsan" and card["msgtype"] == "textcard"
    assert "&lt;b&gt;福利&lt;/b&gt;群" in card["textcard"]["description"] and "<b>福利" not in \
        card["textcard"]["description"]
    first = executions(plan_id=created["id"])[0]
    assert card["textcard"]["url"].endswith(f"/sidebar/?group_sop={first.id}")
    assert {(r.status, r.result) for r in executions(plan_id=created["id"], due_at=MON + timedelta(hours=2))} == \
        {("awaiting", "reminded")}
    assert first.content == {"text": {"content": "本周活动：<b>福利</b>群专享"}}


def test_pause_resume_edit_delete(app, api, groups, mass_ok, tick):
    created = plan(api, {"targets": {"owners": ["lisi"]}, "schedule": {"kind": "daily", "at_time": "09:00"},
                         "steps": [{"text": "旧内容"}]})
    plan_id = created["id"]
    assert api("POST", f"/group-sops/{plan_id}/pause").json["status"] == "paused"
    tick(MON + timedelta(hours=1))
    assert bodies(mass_ok, MASS) == []
    clock.freeze(MON + timedelta(days=1, hours=2))  # over 24 h after Monday's run
    try:
        assert api("POST", f"/group-sops/{plan_id}/resume").json["status"] == "active"
    finally:
        clock.freeze(None)
    tick(MON + timedelta(days=1, hours=2))
    rows = executions(plan_id=plan_id)
    assert (rows[0].status, rows[0].result) == ("skipped", "stale")
    assert (rows[1].status, rows[1].result) == ("awaiting", "not_sent_yet")  # Tuesday's, 1 h late: sent
    step_id = created["steps"][0]["id"]
    clock.freeze(MON + timedelta(days=1, hours=3))
    try:
        edited = api("PATCH", f"/group-sops/{plan_id}", json={"steps": [{"id": step_id, "text": "新内容"}],
                                                              "schedule": {"kind": "daily", "at_time": "21:00"}})
    finally:
        clock.freeze(None)
    assert edited.status_code == 200, edited.json
    pending = [r for r in executions(plan_id=plan_id) if r.status == "pending"]
    assert pending and all(localtime_hour(r.due_at) == 21 for r in pending)
    tick(MON + timedelta(days=2, hours=13))  # Wednesday 21:00
    assert bodies(mass_ok, MASS)[-1]["text"] == {"content": "新内容"}
    assert api("DELETE", f"/group-sops/{plan_id}").status_code == 204
    assert {r.status for r in executions(plan_id=plan_id) if r.due_at > MON + timedelta(days=3)} == {"cancelled"}
    assert api("GET", f"/group-sops/{plan_id}").status_code == 404


def localtime_hour(utc: datetime) -> int:
    return (utc + timedelta(hours=8)).hour


def test_group_code_targets_include_rooms_wecom_created(app, api, groups, mass_ok, tick):
    from scrm.models import GroupCode
    code = GroupCode(corp_id=TEST_CORP_ID, config_id="cfg1", name="福利码", state="gc1", room_base_name="福利群")
    db.session.add(code)
    db.session.flush()
    db.session.add_all([GroupCodeChat(corp_id=TEST_CORP_ID, group_code_id=code.id, chat_id="wrA"),
                        GroupCodeChat(corp_id=TEST_CORP_ID, group_code_id=code.id, chat_id="wrAUTO",
                                      source="auto_created")])
    db.session.add(GroupChat(corp_id=TEST_CORP_ID, chat_id="wrAUTO", name="福利群2号", owner="zhangsan",
                             status="active"))
    db.session.commit()
    created = plan(api, {"targets": {"group_code_ids": [code.id]}, "schedule": {"kind": "daily", "at_time": "09:00"},
                         "steps": [{"text": "活码群通知"}]})
    assert created["target_groups"] == 2
    tick(MON + timedelta(hours=1))
    assert bodies(mass_ok, MASS)[0]["chat_id_list"] == ["wrA", "wrAUTO"]


def test_erasing_a_customer_blanks_the_new_member_messages_naming_them(app, api, groups, mass_ok, tick):
    from scrm.models import Customer
    from scrm.services import privacy
    created = plan(api, {"targets": {"chat_ids": ["wrB"]}, "schedule": {"kind": "member_joined"},
                         "steps": SERIES[:1]})
    joined = MON + timedelta(hours=1)
    gen_member(groups["wrB"], "wmErase", name="要删除的人", join_time=joined)
    gen_member(groups["wrB"], "wmStay", name="留下的人", join_time=joined)
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid="wmErase", name="要删除的人"))
    db.session.commit()
    tick(joined + timedelta(minutes=1))
    assert all("要删除的人" in r.content["text"]["content"] for r in executions(plan_id=created["id"]))
    counts = privacy.erase_customer(TEST_CORP_ID, "wmErase", actor="test")
    assert counts["group_sop_execution"] == 2
    assert [r.content for r in executions(plan_id=created["id"])] == [None, None]


def test_one_sweep_enqueues_its_runs_as_one_job_and_each_owner_is_sent_to(app, api, groups, mass_ok, tick):
    """The due (plan, step, owner) runs go to RQ as run_batches jobs of up to RUNS_PER_JOB runs;
    each run claims and sends its owner's executions as a job of its own did."""
    from scrm.queueing import get_queue
    from scrm.services.group_sop import planning

    created = plan(api, {"targets": {"owners": ["zhangsan", "lisi"]},
                         "schedule": {"kind": "daily", "at_time": "09:00"}, "steps": [{"text": "早安"}]})
    at = MON + timedelta(hours=1)
    clock.freeze(at)
    try:
        assert group_sop.sweep(at) == 2  # two runs: zhangsan's groups, lisi's group
    finally:
        clock.freeze(None)
    jobs = get_queue("messages").get_jobs()
    assert [(job.func_name, job.args[0]) for job in jobs] == [
        (planning.RUN_JOB, [[created["id"], created["steps"][0]["id"], "lisi"],
                            [created["id"], created["steps"][0]["id"], "zhangsan"]])]
    assert jobs[0].timeout == 60 * planning.RUNS_PER_JOB
    tick(at)
    assert sorted((b["sender"], b["chat_id_list"]) for b in bodies(mass_ok, MASS)) == [
        ("lisi", ["wrC"]), ("zhangsan", ["wrA", "wrB"])]
    assert {(r.chat_id, r.status) for r in executions(plan_id=created["id"], due_at=at)} == {
        ("wrA", "awaiting"), ("wrB", "awaiting"), ("wrC", "awaiting")}
