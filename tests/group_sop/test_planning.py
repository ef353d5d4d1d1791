"""The sweep's batched planning (incremental.py: each corp's new events and changed groups planned
for all its plans in one INSERT, targets matched in Python) creates exactly the executions that
planning every plan from scratch (one SQL statement per plan, targets.clause) creates."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy import event as sqlalchemy_event

from scrm.extensions import db
from scrm.models import (
    GroupChat,
    GroupCode,
    GroupCodeChat,
    GroupLabel,
    GroupLabelLink,
    GroupMember,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
)
from scrm.services import group_sop
from scrm.services.group_sop import plan_all, planning
from tests.conftest import TEST_CORP_ID
from tests.group_sop.conftest import MON

E = GroupSopExecution
COLUMNS = (E.plan_id, E.step_id, E.chat_id, E.member_id, E.owner, E.delivery, E.due_at, E.status)
SERIES = [{"delay_minutes": 5, "text": "欢迎"}, {"day_offset": 1, "at_time": "10:00", "text": "次日福利"}]


def rows(since) -> set[tuple]:
    return set(db.session.execute(select(*COLUMNS).where(E.due_at >= since)).tuples().all())


def test_the_sweeps_batched_planning_equals_planning_every_plan_from_scratch(app, groups):
    label, later = GroupLabel(corp_id=TEST_CORP_ID, name="活跃群"), GroupLabel(corp_id=TEST_CORP_ID, name="直播群")
    code = GroupCode(corp_id=TEST_CORP_ID, name="福利码", state="gc1")
    db.session.add_all([label, later, code])
    db.session.commit()
    db.session.add_all([GroupLabelLink(corp_id=TEST_CORP_ID, label_id=label.id, chat_id="wrA"),
                        GroupCodeChat(corp_id=TEST_CORP_ID, group_code_id=code.id, chat_id="wrC")])
    db.session.commit()

    def create(name, schedule, targets, steps=None, delivery="mass_send"):
        data = {"name": name, "targets": targets, "schedule": schedule, "delivery": delivery,
                "steps": steps or [{"text": "早上好"}]}
        return group_sop.create(TEST_CORP_ID, data, now=MON).id
    plans = [create("新人·张三", {"kind": "member_joined"}, {"owners": ["zhangsan"]}, SERIES),
             create("新人·标签", {"kind": "member_joined"}, {"label_ids": [label.id]}, SERIES[:1], "reminder"),
             create("新人·名单", {"kind": "member_joined"}, {"chat_ids": ["wrC"], "name_contains": "福利"}, SERIES),
             create("建群·福利", {"kind": "group_created"}, {"name_contains": "福利"}, SERIES),
             create("建群·活码", {"kind": "group_created"}, {"group_code_ids": [code.id], "owners": ["lisi"]},
                    SERIES[1:]),
             create("早报·标签", {"kind": "daily", "at_time": "09:00"}, {"label_ids": [label.id, later.id]}),
             create("周报·活码", {"kind": "weekly", "weekdays": [1, 2, 3], "at_time": "20:00"},
                    {"group_code_ids": [code.id]}),
             create("早报·名单", {"kind": "daily", "at_time": "18:00"}, {"chat_ids": ["wrB"], "owners": ["lisi"]})]

    def arrive(minutes: int) -> None:
        """What sync / callbacks write during the sweeps: groups created (labelled and behind the
        code at once: relative plans match a group as it is when the event is planned), an
        existing group labelled, customers joining (and staff, and a customer who already left)."""
        at = MON + timedelta(minutes=minutes)
        n = len(db.session.scalars(select(GroupMember.id)).all())
        if minutes == 3:
            db.session.add_all([
                GroupChat(corp_id=TEST_CORP_ID, chat_id="wrD", name="福利群3", owner="lisi", status="active",
                          create_time=at, updated_at=at),
                GroupChat(corp_id=TEST_CORP_ID, chat_id="wrX", name="福利群X", owner="zhangsan",
                          status="dismissed", create_time=at, updated_at=at),
                GroupLabelLink(corp_id=TEST_CORP_ID, label_id=label.id, chat_id="wrD", created_at=at),
                GroupCodeChat(corp_id=TEST_CORP_ID, group_code_id=code.id, chat_id="wrD", created_at=at)])
        if minutes == 7:
            db.session.add(GroupLabelLink(corp_id=TEST_CORP_ID, label_id=later.id, chat_id="wrB", created_at=at))
        for chat_id in ("wrA", "wrB", "wrC", "wrD", "wrX"):
            db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id=chat_id, member_id=f"wm{n}{chat_id}", type=2,
                                       join_time=at, updated_at=at))
        db.session.add_all([
            GroupMember(corp_id=TEST_CORP_ID, chat_id="wrA", member_id=f"staff{n}", type=1, join_time=at,
                        updated_at=at),
            GroupMember(corp_id=TEST_CORP_ID, chat_id="wrA", member_id=f"gone{n}", type=2, join_time=at,
                        quit_time=at, updated_at=at)])
        db.session.commit()

    for minute in (1, 3, 6, 7, 9, 12, 14, 23):  # the sweeps' planning, each after that minute's writes
        arrive(minute)
        plan_all(MON + timedelta(minutes=minute, seconds=30))
    now = MON + timedelta(minutes=23, seconds=30)
    batched = rows(now)

    db.session.execute(delete(E))  # every plan from scratch: its own statements, targets in SQL
    db.session.execute(update(GroupSop).values(planned_at=None))
    db.session.commit()
    plan_all(now)
    from_scratch = rows(now)

    assert batched == from_scratch
    assert {row[0] for row in from_scratch} == set(plans)  # every plan has executions
    members = {(row[2], row[3]) for row in from_scratch if row[3]}
    assert ("wrC", "wm0wrC") in members and ("wrA", "wm0wrA") in members
    assert not any(m.startswith(("staff", "gone")) or c == "wrX" for c, m in members)
    # the new and the labelled group joined the fixed plan; the new group got the group_created series
    assert {row[2] for row in from_scratch if row[0] == plans[5]} == {"wrA", "wrB", "wrD"}
    assert {row[2] for row in from_scratch if row[0] == plans[3]} == {"wrD"}


def test_relative_plans_look_back_from_the_redis_mark_and_without_it_from_planned_at(app, groups):
    """Each sweep notes in Redis how far the relative plans have looked; planned_at is written
    every PLAN_EVERY. Without the mark (Redis flushed) the sweep looks back from planned_at, so a
    member row written late is still planned, once."""
    plan_id = group_sop.create(TEST_CORP_ID, {"name": "新人", "targets": {"owners": ["zhangsan"]},
                                              "schedule": {"kind": "member_joined"}, "delivery": "mass_send",
                                              "steps": SERIES[:1]}, now=MON).id

    def join(member_id: str, minutes: int) -> None:
        at = MON + timedelta(minutes=minutes)
        db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id="wrB", member_id=member_id, type=2, join_time=at,
                                   updated_at=at))
        db.session.commit()

    def planned() -> list[tuple]:
        db.session.expire_all()
        return sorted(db.session.execute(select(E.member_id, E.due_at).where(E.plan_id == plan_id)).tuples())

    def planned_at():
        db.session.expire_all()
        return db.session.get(GroupSop, plan_id).planned_at
    join("wm1", 3)
    for minute in range(1, 10):
        plan_all(MON + timedelta(minutes=minute))
    assert planned() == [("wm1", MON + timedelta(minutes=8))]
    assert planned_at() == MON  # not written every minute
    mark = planning.redis_connection().get(planning.EVENTS_KEY.format(TEST_CORP_ID))
    assert mark.decode() == (MON + timedelta(minutes=9)).isoformat()
    plan_all(MON + timedelta(minutes=10))
    assert planned_at() == MON + timedelta(minutes=10)
    for minute in range(11, 16):
        plan_all(MON + timedelta(minutes=minute))
    join("wm2", 9)  # written late (another process's clock): before the mark less EVENT_MARGIN
    planning.redis_connection().delete(planning.EVENTS_KEY.format(TEST_CORP_ID))
    plan_all(MON + timedelta(minutes=16))
    plan_all(MON + timedelta(minutes=17))
    assert planned() == [("wm1", MON + timedelta(minutes=8)), ("wm2", MON + timedelta(minutes=14))]


def test_fixed_plans_planned_together_get_what_each_gets_alone(app, groups, monkeypatch):
    """plan_all plans every fixed plan not planned yet in UNION ALL statements (UNION_CHUNK plans
    each): the executions are those of planning each plan on its own (plan_one at create)."""
    label = GroupLabel(corp_id=TEST_CORP_ID, name="活跃群")
    db.session.add(label)
    db.session.commit()
    db.session.add(GroupLabelLink(corp_id=TEST_CORP_ID, label_id=label.id, chat_id="wrC"))
    db.session.commit()
    for name, schedule, targets in [
            ("早报", {"kind": "daily", "at_time": "09:00"}, {"owners": ["zhangsan"]}),
            ("周报", {"kind": "weekly", "weekdays": [2, 5], "at_time": "20:00"}, {"label_ids": [label.id]}),
            ("月报", {"kind": "monthly", "month_days": [3, 31], "at_time": "10:00"}, {"name_contains": "群"}),
            ("单次", {"kind": "once", "at": "2026-11-04T15:00"}, {"chat_ids": ["wrA", "wrC"]}),
            ("无群", {"kind": "daily", "at_time": "12:00"}, {"owners": ["nobody"]})]:
        group_sop.create(TEST_CORP_ID, {"name": name, "targets": targets, "schedule": schedule,
                                        "delivery": "mass_send", "steps": [{"text": "早上好"}]}, now=MON)
    alone = rows(MON)
    assert len(alone) == 2 * 7 + 2 + 3 + 2  # daily × 2 groups, Tue+Fri × wrC, the 3rd × 3 groups, once × 2
    db.session.execute(delete(E))
    db.session.execute(update(GroupSop).values(planned_at=None))
    db.session.commit()
    monkeypatch.setattr(planning, "UNION_CHUNK", 2)
    assert plan_all(MON) == len(alone)
    assert rows(MON) == alone


def test_the_sweep_keeps_relative_plans_in_process_and_reads_an_edited_or_paused_one_again(app, groups):
    """The relative plans' definitions are kept between sweeps by (id, revision); an edit, even
    in the same second as the last sweep, writes a new revision, so the next sweep plans the new
    steps and targets; a paused plan plans nothing; a cached plan costs no statement."""
    plan = group_sop.create(TEST_CORP_ID, {"name": "新人", "targets": {"owners": ["zhangsan"]},
                                           "schedule": {"kind": "member_joined"}, "delivery": "mass_send",
                                           "steps": SERIES[:1]}, now=MON)
    plan_id, first_revision = plan.id, plan.revision

    def join(member_id: str, chat_id: str, minutes: int) -> None:
        at = MON + timedelta(minutes=minutes)
        db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id=chat_id, member_id=member_id, type=2, join_time=at,
                                   updated_at=at))
        db.session.commit()

    def planned() -> set[tuple]:
        return set(db.session.execute(select(E.member_id, E.chat_id, E.due_at).where(E.plan_id == plan_id)).tuples())

    statements = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)
    join("wm1", "wrA", 1)
    plan_all(MON + timedelta(minutes=1))  # reads the plan, caches it
    join("wm2", "wrA", 2)
    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        plan_all(MON + timedelta(minutes=2))  # from the cache
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "group_sop_step" in s]
    assert planned() == {("wm1", "wrA", MON + timedelta(minutes=6)), ("wm2", "wrA", MON + timedelta(minutes=7))}

    edited = group_sop.get(TEST_CORP_ID, plan_id)  # the same second as the sweep: a new revision all the same
    group_sop.update_plan(edited, {"targets": {"owners": ["lisi"]},
                                   "steps": [{"id": edited_step, "delay_minutes": 30, "text": "欢迎"}
                                             for edited_step in [planning.live_steps([plan_id])[plan_id][0].id]]},
                          now=MON + timedelta(minutes=2))
    assert group_sop.get(TEST_CORP_ID, plan_id).revision != first_revision
    assert planned() == set()  # the pending executions of zhangsan's groups: dropped with the edit
    join("wm3", "wrA", 3)  # zhangsan's group: no longer a target
    join("wm4", "wrC", 3)  # lisi's group
    plan_all(MON + timedelta(minutes=3))
    assert planned() == {("wm4", "wrC", MON + timedelta(minutes=33))}  # the new target and delay

    group_sop.set_status(group_sop.get(TEST_CORP_ID, plan_id), GroupSopStatus.PAUSED, now=MON + timedelta(minutes=3))
    join("wm5", "wrC", 4)
    plan_all(MON + timedelta(minutes=4))
    assert "wm5" not in {m for m, _, _ in planned()}


def test_the_sweep_plans_every_few_minutes_and_claims_every_minute(app, groups, mass_ok):
    """SCRM_GROUP_SOP_PLAN_MINUTES (here 5): a sweep within that many minutes of the last
    planning run (Redis, PLANNED_KEY) plans nothing, so a member's step due at once is created by
    the next planning run, due at the join time; an execution already planned is claimed by the
    sweep of its minute all the same."""
    from scrm.config import override
    override(app, GROUP_SOP_PLAN_MINUTES=5)
    series = group_sop.create(TEST_CORP_ID, {"name": "新人", "targets": {"owners": ["zhangsan"]},
                                             "schedule": {"kind": "member_joined"}, "delivery": "mass_send",
                                             "steps": [{"delay_minutes": 0, "text": "群规"}]}, now=MON).id
    daily = group_sop.create(TEST_CORP_ID, {"name": "早报", "targets": {"owners": ["lisi"]},
                                            "schedule": {"kind": "daily", "at_time": "08:03"},
                                            "delivery": "mass_send", "steps": [{"text": "早上好"}]}, now=MON).id

    def of(plan_id):
        db.session.expire_all()
        return sorted(db.session.execute(select(E.member_id, E.chat_id, E.due_at, E.queued_at.is_not(None))
                                         .where(E.plan_id == plan_id, E.due_at < MON + timedelta(hours=1))).tuples())
    planning.sweep(MON)  # plans (no planning run known yet)
    assert planning.redis_connection().get(planning.PLANNED_KEY).decode() == MON.isoformat()
    joined = MON + timedelta(minutes=1, seconds=20)
    db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id="wrA", member_id="wm1", type=2, join_time=joined,
                               updated_at=joined))
    db.session.commit()
    for minute in range(1, 5):
        planning.sweep(MON + timedelta(minutes=minute, seconds=5))
        assert of(series) == []
    # 08:03 Shanghai: the daily execution planned at creation is claimed in a minute that plans nothing
    assert of(daily) == [("", "wrC", MON + timedelta(minutes=3), True)]
    planning.sweep(MON + timedelta(minutes=5, seconds=5))
    assert of(series) == [("wm1", "wrA", joined, True)]  # due at the join, claimed by the run that planned it

    override(app, GROUP_SOP_PLAN_MINUTES=1)  # every sweep plans, as before
    joined = MON + timedelta(minutes=6, seconds=10)
    db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id="wrB", member_id="wm2", type=2, join_time=joined,
                               updated_at=joined))
    db.session.commit()
    planning.sweep(MON + timedelta(minutes=6, seconds=30))
    assert ("wm2", "wrB", joined, True) in of(series)


def test_the_planning_period_is_checked():
    from scrm.config import ConfigError, load_settings
    base = {"SECRET_KEY": "group-sop-test-secret-key-0123456789abcdef", "REDIS_URL": "redis://localhost/0"}
    real = {**base, "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
            "WECOM_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}
    assert load_settings(real).group_sop_plan_minutes == 10
    assert load_settings(base).group_sop_plan_minutes == 1  # sandbox mode: a series can be tried at once
    assert load_settings({**real, "SCRM_GROUP_SOP_PLAN_MINUTES": "1"}).group_sop_plan_minutes == 1
    assert load_settings({**base, "SCRM_GROUP_SOP_PLAN_MINUTES": "5"}).group_sop_plan_minutes == 5
    with pytest.raises(ConfigError, match="SCRM_GROUP_SOP_PLAN_MINUTES must be at most 30"):
        load_settings({**base, "SCRM_GROUP_SOP_PLAN_MINUTES": "31"})
    with pytest.raises(ConfigError, match="SCRM_GROUP_SOP_PLAN_MINUTES must be at least 1"):
        load_settings({**base, "SCRM_GROUP_SOP_PLAN_MINUTES": "0"})
