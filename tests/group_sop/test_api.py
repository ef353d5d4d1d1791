"""The group SOP Open API: validation (422 with field messages), 404s, the calendar per plan and
per group, results; and the new-member series fed by real member-join callbacks."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses

from scrm import clock
from scrm.extensions import db
from scrm.models import GroupLabel
from tests.conftest import TEST_CORP_ID
from tests.group_sop.conftest import MASS, MON, bodies, executions, url
from tests.helpers import event_xml, post_callback, run_jobs, wecom_fixture

DAILY = {"kind": "daily", "at_time": "09:00"}


def body(**changes) -> dict:
    return {"name": "早报", "targets": {"owners": ["zhangsan"]}, "schedule": DAILY, "delivery": "mass_send",
            "steps": [{"text": "早上好"}], **changes}


@pytest.mark.parametrize("changes, field", [
    ({"targets": {}}, ("targets", "owners")),
    ({"schedule": {"kind": "weekly"}}, ("schedule", "weekdays")),
    ({"schedule": {"kind": "monthly", "month_days": [32]}}, ("schedule", "month_days")),
    ({"schedule": {"kind": "once"}}, ("schedule", "at")),
    ({"schedule": {"kind": "daily", "at_time": "25:00"}}, ("schedule", "at_time")),
    ({"schedule": {"kind": "hourly"}}, ("schedule", "kind")),
    ({"steps": [{"text": "a"}, {"text": "b"}]}, ("steps",)),
    ({"steps": [{"text": "{nickname}你好"}]}, ("steps.0.text",)),
    ({"schedule": {"kind": "member_joined"}, "steps": [{"text": "欢迎"}]}, ("steps.0.delay_minutes",)),
    ({"steps": [{"text": ""}]}, ("steps", "0", "text")),
    ({"delivery": "sms"}, ("delivery",)),
    ({"steps": [{"text": "好" * 1400}]}, ("steps", "0", "text")),
])
def test_invalid_plans_get_422_with_the_field(app, api, changes, field):
    reply = api("POST", "/group-sops", json=body(**changes))
    assert reply.status_code == 422, reply.json
    errors = reply.json["errors"]["json"]
    for key in field:
        assert key in errors, errors
        errors = errors[key]


def test_checks_against_stored_data(app, api, groups):
    reply = api("POST", "/group-sops", json=body(targets={"label_ids": [999]}))
    assert reply.status_code == 422 and "targets.label_ids" in reply.json["errors"]["json"]
    clock.freeze(MON)
    try:
        past = api("POST", "/group-sops", json=body(schedule={"kind": "once", "at": "2026-11-02T07:00"}))
    finally:
        clock.freeze(None)
    assert past.status_code == 422 and "schedule.at" in past.json["errors"]["json"]
    assert api("GET", "/group-sops/424242").status_code == 404
    assert api("PATCH", "/group-sops/424242", json={"name": "x"}).status_code == 404
    assert api("GET", "/groups/wrNOPE/sop-calendar").status_code == 404


def test_labels_target_and_the_calendars(app, api, groups, mass_ok, tick):
    label = GroupLabel(corp_id=TEST_CORP_ID, name="高活跃")
    db.session.add(label)
    db.session.commit()
    assert api("PUT", "/groups/wrC/labels", json={"label_ids": [label.id]}).status_code in (200, 204)
    clock.freeze(MON)
    try:
        created = api("POST", "/group-sops", json=body(targets={"label_ids": [label.id]})).json
    finally:
        clock.freeze(None)
    assert created["target_groups"] == 1
    tick(MON + timedelta(hours=1))
    calendar = api("GET", f"/group-sops/{created['id']}/executions?since=2026-11-02T00:00:00Z")
    assert calendar.status_code == 200
    assert [(e["chat_id"], e["due_at"], e["status"]) for e in calendar.json][:2] == [
        ("wrC", "2026-11-02T01:00:00Z", "awaiting"), ("wrC", "2026-11-03T01:00:00Z", "pending")]
    assert calendar.json[0]["group_name"] == "VIP群" and calendar.json[0]["plan_name"] == "早报"
    group_view = api("GET", "/groups/wrC/sop-calendar?since=2026-11-02T00:00:00Z&status=pending")
    assert len(group_view.json) == 6 and {e["status"] for e in group_view.json} == {"pending"}
    results = api("GET", f"/group-sops/{created['id']}/results").json
    assert results["by_status"] == {"awaiting": 1, "pending": 6} and results["groups"] == 1
    listed = api("GET", "/group-sops").json
    assert [p["id"] for p in listed] == [created["id"]] and listed[0]["schedule_text"] == "每天 09:00"


CHAT = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
GET = "externalcontact/groupchat/get"


def test_new_member_series_fed_by_member_join_callbacks(app, client, api, wecom, mass_ok, tick):
    def deliver(xml: str) -> None:
        assert post_callback(client, xml).status_code == 200
        db.session.rollback()
        run_jobs(app)
        db.session.expire_all()

    reply = wecom_fixture(GET)
    wecom.add(responses.POST, url(GET), json=reply)
    deliver(event_xml("change_external_chat", "create", ChatId=CHAT, create_time=1793577600))
    clock.freeze(MON)
    try:
        created = api("POST", "/group-sops", json=body(
            targets={"chat_ids": [CHAT]}, schedule={"kind": "member_joined"},
            steps=[{"delay_minutes": 5, "text": "欢迎{nickname}！"}]))
    finally:
        clock.freeze(None)
    assert created.status_code == 201, created.json
    joined = wecom_fixture(GET)
    joined["group_chat"]["member_version"] = "v2"
    joined["group_chat"]["member_list"].append({"userid": "wmNEW", "type": 2, "join_time": 1793581800,
                                                "join_scene": 3, "name": "赵六", "group_nickname": ""})
    wecom.replace(responses.POST, url(GET), json=joined)
    deliver(event_xml("change_external_chat", "update", ChatId=CHAT, create_time=1793581800,
                      UpdateDetail="add_member", MemChangeCnt=1, MemChangeList=["wmNEW"], JoinScene=3,
                      LastMemVer=reply["group_chat"]["member_version"], CurMemVer="v2"))
    at = datetime(2026, 11, 2, 1, 10)  # joined 01:10 UTC (1793581800); the step is due 5 minutes later
    tick(at)
    assert [r.member_id for r in executions(plan_id=created.json["id"])] == ["wmNEW"]
    assert bodies(mass_ok, MASS) == []
    tick(at + timedelta(minutes=5))
    assert bodies(mass_ok, MASS) == [{"chat_type": "group", "sender": "zhangsan", "chat_id_list": [CHAT],
                                      "text": {"content": "欢迎赵六！"}}]


@pytest.mark.parametrize("targets", [
    {"owners": ["zhangsan"]}, {"owners": ["lisi"], "name_contains": "VIP"}, {"name_contains": "福利"},
    {"name_contains": "%"}, {"chat_ids": ["wrB"]}, {"owners": ["lisi"], "chat_ids": ["wrA"]},
    {"label_ids": [1]}, {"label_ids": [1], "owners": ["zhangsan"]}, {"group_code_ids": [1]},
    {"group_code_ids": [1], "name_contains": "2"},
])
def test_targets_in_python_and_in_sql_agree(app, groups, targets):
    """The sweep matches the few groups that changed in Python (targets.matches); planning from
    scratch and delivery use the SQL condition (targets.clause): the same answers."""
    from scrm.models import GroupChat, GroupCode, GroupCodeChat, GroupLabelLink
    from scrm.services.group_sop import targets as rules
    db.session.add(GroupLabel(corp_id=TEST_CORP_ID, name="L1", id=1))
    db.session.add(GroupCode(corp_id=TEST_CORP_ID, name="C1", state="c1", id=1))
    db.session.add(GroupChat(corp_id=TEST_CORP_ID, chat_id="wrGONE", name="福利群0", owner="zhangsan",
                             status="dismissed"))
    db.session.flush()
    db.session.add_all([GroupLabelLink(corp_id=TEST_CORP_ID, label_id=1, chat_id="wrA"),
                        GroupLabelLink(corp_id=TEST_CORP_ID, label_id=1, chat_id="wrC"),
                        GroupCodeChat(corp_id=TEST_CORP_ID, group_code_id=1, chat_id="wrB")])
    db.session.commit()
    chats = ["wrA", "wrB", "wrC", "wrGONE"]
    normal = rules.normalize(targets)
    in_sql = rules.matching(TEST_CORP_ID, normal, chats)
    facts = rules.facts(TEST_CORP_ID, chats)
    assert {c for c in chats if rules.matches(normal, facts[c], c)} == in_sql


def test_a_group_labelled_after_the_plan_started_joins_at_the_next_planning(app, api, groups, mass_ok, tick):
    label = GroupLabel(corp_id=TEST_CORP_ID, name="新标签")
    db.session.add(label)
    db.session.commit()
    clock.freeze(MON)
    try:
        created = api("POST", "/group-sops", json=body(targets={"label_ids": [label.id]})).json
    finally:
        clock.freeze(None)
    assert created["target_groups"] == 0 and executions(plan_id=created["id"]) == []
    clock.freeze(MON + timedelta(minutes=3))
    try:
        assert api("PUT", "/groups/wrB/labels", json={"label_ids": [label.id]}).status_code in (200, 204)
    finally:
        clock.freeze(None)
    tick(MON + timedelta(minutes=11))  # the next planning run of a fixed plan (every 10 minutes)
    assert {r.chat_id for r in executions(plan_id=created["id"])} == {"wrB"}
    tick(MON + timedelta(hours=1))
    assert bodies(mass_ok, MASS)[0]["chat_id_list"] == ["wrB"]
