"""GET /api/v1/reports/groups and /groups/export: the groups report (客户群报表) from group_daily_stat,
group_owner_daily_stat and group_sop_daily_stat, checked against a hand-built history across
Asia/Shanghai day boundaries (days D0..D3 of tests/reports/conftest.py; a local day starts at
16:00 UTC the day before). The org is conftest's: A = {mgr_a, zhang}, A1 = {li} below A, B = {mgr_b, wang}.

    G1 zhang  since 11-01: zhang (staff), c1 and c4 (customers, 11-05); c2 joins D1 23:30 by link,
              c3 joins D2 00:30 by QR code through our group code; c1 leaves D2 23:30 (self),
              c4 is removed D3 00:30
    G2 li     created D1 23:30: li joins D1 23:30, c5 D2 12:00 (both invited)
    G3 wang   since 11-01: wang, c6 (joined D0 23:59: the stock before the range, not a join);
              c7 joins D1 00:30 and leaves D1 23:59
    G4 wang   since 11-01, wang alone; dismissed D3 09:00 (not a group at the end of D3)

    SOP P1 周报推送 (mass send): G1 due D0 23:59 sent (before the range); G1 D1 23:30 sent;
              G1 D2 00:30 failed not_sent; G3 D2 10:00 awaiting; G3 D3 10:00 skipped monthly_cap;
              G1 D3 20:00 pending
    SOP P2 新人欢迎 (reminder): G2 D2 12:00 sent; D3 09:00 failed already_received;
              D3 10:00 cancelled (not counted); D3 11:00 skipped member_left (owner unknown on the
              execution: the group's owner li)

WeCom's figures: zhang D2 10 messages, D3 5; wang D0 99 (outside the range).
"""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from scrm.extensions import db
from scrm.models import (
    GroupChat,
    GroupCode,
    GroupMember,
    GroupOwnerDailyStat,
    GroupSop,
    GroupSopDailyStat,
    GroupSopExecution,
    GroupSopStep,
    Staff,
)
from scrm.services import group_stats, reports
from scrm.services.reports import group_sop_day
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D0, D1, D2, D3, OTHER_CORP, _seed_org, local, sign_in

REPORT = "/api/v1/reports/groups"
EXPORT = "/api/v1/reports/groups/export"
RANGE = {"from": D1.isoformat(), "to": D3.isoformat()}


def _group(chat_id, owner, created, dismissed=None, corp_id=TEST_CORP_ID):
    db.session.add(GroupChat(corp_id=corp_id, chat_id=chat_id, name=f"群{chat_id}", owner=owner,
                             create_time=local(created), dismissed_at=local(dismissed) if dismissed else None,
                             status="dismissed" if dismissed else "active"))


def _member(chat_id, member_id, kind, joined, scene=1, *, quit=None, quit_scene=None, state=None,
            corp_id=TEST_CORP_ID):
    db.session.add(GroupMember(corp_id=corp_id, chat_id=chat_id, member_id=member_id, type=kind,
                               join_time=local(joined), join_scene=scene, state=state,
                               quit_time=local(quit) if quit else None, quit_scene=quit_scene))


def _plan(name, delivery):
    plan = GroupSop(corp_id=TEST_CORP_ID, name=name, targets={}, schedule={"kind": "daily"}, delivery=delivery)
    db.session.add(plan)
    db.session.flush()
    step = GroupSopStep(corp_id=TEST_CORP_ID, plan_id=plan.id, position=1, text="内容", attachments=[])
    db.session.add(step)
    db.session.flush()
    return plan, step


def _execution(plan_step, chat_id, owner, due, status, result=None, member_id=""):
    plan, step = plan_step
    db.session.add(GroupSopExecution(corp_id=TEST_CORP_ID, plan_id=plan.id, step_id=step.id, chat_id=chat_id,
                                     member_id=member_id, owner=owner, delivery=plan.delivery, due_at=local(due),
                                     status=status, result=result))


def seed_groups():
    _seed_org()
    db.session.add(GroupCode(corp_id=TEST_CORP_ID, name="入群活码", state="gc_report"))
    _group("G1", "zhang", "2026-11-01 10:00")
    _member("G1", "zhang", 1, "2026-11-01 10:00")
    _member("G1", "c1", 2, "2026-11-05 09:00", quit="2026-11-11 23:30", quit_scene=0)
    _member("G1", "c4", 2, "2026-11-05 09:00", quit="2026-11-12 00:30", quit_scene=1)
    _member("G1", "c2", 2, "2026-11-10 23:30", scene=2)
    _member("G1", "c3", 2, "2026-11-11 00:30", scene=3, state="gc_report")
    _group("G2", "li", "2026-11-10 23:30")
    _member("G2", "li", 1, "2026-11-10 23:30")
    _member("G2", "c5", 2, "2026-11-11 12:00")
    _group("G3", "wang", "2026-11-01 10:00")
    _member("G3", "wang", 1, "2026-11-01 10:00")
    _member("G3", "c6", 2, "2026-11-09 23:59", scene=2)
    _member("G3", "c7", 2, "2026-11-10 00:30", quit="2026-11-10 23:59", quit_scene=0)
    _group("G4", "wang", "2026-11-01 10:00", dismissed="2026-11-12 09:00")
    _member("G4", "wang", 1, "2026-11-01 10:00")
    p1, p2 = _plan("周报推送", "mass_send"), _plan("新人欢迎", "reminder")
    _execution(p1, "G1", "zhang", "2026-11-09 23:59", "sent", "sent")
    _execution(p1, "G1", "zhang", "2026-11-10 23:30", "sent", "sent")
    _execution(p1, "G1", "zhang", "2026-11-11 00:30", "failed", "not_sent")
    _execution(p1, "G3", "wang", "2026-11-11 10:00", "awaiting")
    _execution(p1, "G3", "wang", "2026-11-12 10:00", "skipped", "monthly_cap")
    _execution(p1, "G1", "zhang", "2026-11-12 20:00", "pending")
    _execution(p2, "G2", "li", "2026-11-11 12:00", "sent", "sent", member_id="c5")
    _execution(p2, "G2", "li", "2026-11-12 09:00", "failed", "already_received")
    _execution(p2, "G2", "li", "2026-11-12 10:00", "cancelled", "cancelled")
    _execution(p2, "G2", None, "2026-11-12 11:00", "skipped", "member_left", member_id="c5")
    db.session.add_all([
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D2, owner="zhang", chat_total=1, chat_has_msg=1,
                            member_total=4, member_has_msg=2, msg_total=10),
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D3, owner="zhang", chat_total=1, chat_has_msg=1,
                            member_total=3, member_has_msg=1, msg_total=5),
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D0, owner="wang", chat_total=2, msg_total=99),
    ])
    # another corp's group never counts
    db.session.add(Staff(corp_id=OTHER_CORP, userid="zhang", name="别家", status=1, main_department=2))
    _group("GX", "zhang", "2026-11-01 10:00", corp_id=OTHER_CORP)
    _member("GX", "cx", 2, "2026-11-11 10:00", corp_id=OTHER_CORP)
    db.session.commit()


@pytest.fixture
def grouped(reports_app):
    seed_groups()
    for corp_id in (TEST_CORP_ID, OTHER_CORP):
        group_stats.rebuild(corp_id, D0, D3)
    db.session.commit()
    reports.rebuild(TEST_CORP_ID, D0, D3)  # the roll-up of D0 holds the members before the range


def owners(body: dict) -> dict:
    return {row["userid"]: row for row in body["owners"]}


def pick(row: dict, *names: str) -> dict:
    return {name: row[name] for name in names}


STOCK = ("groups", "members", "customers", "staff", "members_start", "growth")
FLOW = ("joins", "joins_invite", "joins_link", "joins_qrcode", "joins_group_code", "leaves", "leaves_self",
        "leaves_removed")
SOP = ("executions", "sent", "waiting", "failed", "failed_not_sent", "failed_already_received", "capped", "skipped")


def test_the_report_per_owner_and_in_total(get, grouped):
    reply = get(REPORT, **RANGE)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["from"], body["to"], body["last_day"]) == ("2026-11-10", "2026-11-12", "2026-11-12")
    rows = owners(body)
    assert set(rows) == {"zhang", "li", "wang"}
    assert pick(rows["zhang"], *STOCK, *FLOW) == {
        "groups": 1, "members": 3, "customers": 2, "staff": 1, "members_start": 3, "growth": 0,
        "joins": 2, "joins_invite": 0, "joins_link": 1, "joins_qrcode": 1, "joins_group_code": 1,
        "leaves": 2, "leaves_self": 1, "leaves_removed": 1}
    assert pick(rows["li"], *STOCK, "joins", "joins_invite", "leaves") == {
        "groups": 1, "members": 2, "customers": 1, "staff": 1, "members_start": 0, "growth": 2,
        "joins": 2, "joins_invite": 2, "leaves": 0}
    # G4 was dismissed on D3: not a group at the end, its member only in the stock before the range
    assert pick(rows["wang"], *STOCK, "joins", "leaves", "leaves_self") == {
        "groups": 1, "members": 2, "customers": 1, "staff": 1, "members_start": 3, "growth": -1,
        "joins": 1, "leaves": 1, "leaves_self": 1}
    assert (rows["zhang"]["name"], rows["zhang"]["department_id"], rows["zhang"]["department_name"]) == (
        "名zhang", 2, "A")
    assert pick(rows["zhang"], "msg_total", "chat_has_msg", "member_has_msg", "chat_total", "member_total") == {
        "msg_total": 15, "chat_has_msg": 2, "member_has_msg": 3, "chat_total": 1, "member_total": 3}
    assert rows["wang"]["msg_total"] == 0  # D0's figures are before the range
    assert pick(rows["zhang"], "executions", "sent", "waiting", "failed") == {
        "executions": 3, "sent": 1, "waiting": 1, "failed": 1}
    assert pick(rows["wang"], "executions", "waiting", "capped") == {"executions": 2, "waiting": 1, "capped": 1}
    assert pick(rows["li"], "executions", "sent", "failed", "skipped") == {
        "executions": 3, "sent": 1, "failed": 1, "skipped": 1}
    totals = body["totals"]
    assert pick(totals, "owners", *STOCK, "joins", "leaves", "msg_total", "executions", "sent") == {
        "owners": 3, "groups": 3, "members": 7, "customers": 4, "staff": 3, "members_start": 6, "growth": 1,
        "joins": 5, "leaves": 3, "msg_total": 15, "executions": 8, "sent": 2}


def test_sop_results_per_plan(get, grouped):
    plans = {row["name"]: row for row in get(REPORT, **RANGE).get_json()["plans"]}
    assert pick(plans["周报推送"], *SOP) == {
        "executions": 5, "sent": 1, "waiting": 2, "failed": 1, "failed_not_sent": 1, "failed_already_received": 0,
        "capped": 1, "skipped": 0}
    assert pick(plans["新人欢迎"], *SOP) == {
        "executions": 3, "sent": 1, "waiting": 0, "failed": 1, "failed_not_sent": 0, "failed_already_received": 1,
        "capped": 0, "skipped": 1}
    # the day before the range (D0 23:59) counts on D0 only
    d0 = get(REPORT, **{"from": D0.isoformat(), "to": D0.isoformat()}).get_json()
    assert [(p["name"], p["sent"], p["executions"]) for p in d0["plans"]] == [("周报推送", 1, 1)]


def test_the_daily_series(get, grouped):
    series = get(REPORT, **RANGE).get_json()["series"]
    assert [(p["day"], p["members"], p["customers"], p["joins"], p["leaves"], p["msg_total"], p["sop_sent"])
            for p in series] == [
        ("2026-11-10", 8, 4, 3, 1, 0, 1),   # c2, li, c7 joined; c7 left; G1's D1 23:30 send
        ("2026-11-11", 9, 5, 2, 1, 10, 1),  # c3, c5 joined; c1 left
        ("2026-11-12", 7, 4, 0, 1, 5, 0),   # c4 removed; G4 dismissed
    ]
    later = get(REPORT, **{"from": D3.isoformat(), "to": "2026-11-13"}).get_json()["series"]
    assert [(p["day"], p["members"], p["joins"]) for p in later] == [("2026-11-12", 7, 0), ("2026-11-13", None, 0)]


def test_filters_by_owner_department_and_member(get, grouped):
    subtree = get(REPORT, department_id=2, **RANGE).get_json()  # A and A1 below it
    assert set(owners(subtree)) == {"zhang", "li"} and subtree["totals"]["members"] == 5
    assert {p["name"] for p in subtree["plans"]} == {"周报推送", "新人欢迎"}
    assert [p["members"] for p in subtree["series"]] == [5, 6, 5]
    a1 = get(REPORT, department_id=3, **RANGE).get_json()
    assert set(owners(a1)) == {"li"} and [p["name"] for p in a1["plans"]] == ["新人欢迎"]
    one = get(REPORT, userid="wang", **RANGE).get_json()
    assert set(owners(one)) == {"wang"} and one["totals"]["capped"] == 1
    nobody = get(REPORT, department_id=99, **RANGE).get_json()
    assert nobody["owners"] == [] and nobody["plans"] == [] and nobody["totals"]["members"] == 0


def test_bad_filters_are_422(get, grouped):
    backwards = get(REPORT, **{"from": "2026-11-12", "to": "2026-11-10"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["errors"]["query"]
    too_long = get(REPORT, **{"from": "2025-01-01", "to": "2026-11-12"})
    assert too_long.status_code == 422 and "to" in too_long.get_json()["errors"]["query"]
    assert get(REPORT, **{"from": "2026-13-01"}).status_code == 422
    bad_department = get(REPORT, department_id=0)
    assert bad_department.status_code == 422 and "department_id" in bad_department.get_json()["errors"]["query"]
    bad_rows = get(EXPORT, rows="groups", **RANGE)
    assert bad_rows.status_code == 422 and "rows" in bad_rows.get_json()["errors"]["query"]
    assert get(EXPORT, format="pdf", **RANGE).status_code == 422


def test_a_manager_sees_their_departments_owners_only(client, grouped):
    sign_in(client, "mgr_a")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(owners(body)) == {"zhang", "li"}
    assert body["totals"]["capped"] == 0  # wang's capped send is not theirs
    other = client.get("/console" + REPORT, query_string={**RANGE, "department_id": 4}).get_json()
    assert other["owners"] == [] and other["plans"] == [] and other["totals"]["members"] == 0
    assert other["series"] == []
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    assert client.get("/console" + EXPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    sign_in(client, "mgr_b")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(owners(body)) == {"wang"} and [p["name"] for p in body["plans"]] == ["周报推送"]


def test_a_sales_member_sees_only_their_groups(client, grouped):
    sign_in(client, "zhang")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(owners(body)) == {"zhang"} and body["totals"]["members"] == 3
    assert [(p["name"], p["executions"]) for p in body["plans"]] == [("周报推送", 3)]
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "li"}).status_code == 404
    sign_in(client, "boss")
    assert set(owners(client.get("/console" + REPORT, query_string=RANGE).get_json())) == {"zhang", "li", "wang"}


def test_export_per_owner_as_xlsx_and_per_plan_as_csv(get, grouped):
    reply = get(EXPORT, **RANGE)
    assert reply.status_code == 200
    assert "filename*=UTF-8''" in reply.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(reply.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:6] == ["群主", "群主账号", "部门", "群数", "群成员", "客户成员"]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"名zhang", "名li", "名wang", "合计"}
    assert (by_name["名wang"]["净增成员"], by_name["名zhang"]["群消息数(企微)"]) == (-1, 15)
    assert (by_name["合计"]["群成员"], by_name["合计"]["入群"], by_name["合计"]["SOP已发送"]) == (7, 5, 2)
    plans = get(EXPORT, format="csv", rows="plans", **RANGE)
    assert plans.status_code == 200 and plans.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(plans.data.decode("utf-8-sig"))))
    assert table[0][:4] == ["SOP计划", "SOP执行", "SOP已发送", "SOP等待中"]
    assert {row[0]: row[1:4] for row in table[1:]} == {
        "周报推送": ["5", "1", "2"], "新人欢迎": ["3", "1", "0"], "合计": ["8", "2", "2"]}


def test_the_sop_aggregate_settles_past_days_and_refreshes_today_only(app, grouped):
    s = GroupSopDailyStat
    # a full build over D3 alone still recomputes the SETTLE_DAYS before it (D0 included)
    execution = db.session.query(GroupSopExecution).filter_by(status="awaiting").one()
    execution.status, execution.result = "sent", "sent"
    db.session.commit()
    group_sop_day.build(TEST_CORP_ID, D3, D3, incremental=False)
    db.session.commit()
    row = db.session.query(s).filter_by(day=D2, owner="wang").one()
    assert (row.sent, row.waiting) == (1, 0)
    assert db.session.query(s).filter_by(day=D0).count() == 1
    # today's refresh rewrites only the day asked for
    execution.status = "failed"
    db.session.commit()
    group_sop_day.build(TEST_CORP_ID, D3, D3, incremental=True)
    db.session.commit()
    assert db.session.query(s).filter_by(day=D2, owner="wang").one().failed == 0


def test_the_answer_is_the_documented_schemas_dump(get, grouped):
    """The view sends the report without marshmallow's per-field dump (plain_json): it must be
    exactly what GroupReportSchema would have sent."""
    import json
    from datetime import date

    from scrm.schemas.group_report import GroupReportSchema
    from scrm.services.reports import groups

    for params, first, last in (({"from": "2026-11-10", "to": "2026-11-12"}, D1, D3),
                                ({"from": "2026-11-01", "to": "2026-11-30"}, date(2026, 11, 1), date(2026, 11, 30))):
        reply = get("/api/v1/reports/groups", **params)
        schema_dump = GroupReportSchema().dump(groups.report(TEST_CORP_ID, first, last))
        assert reply.status_code == 200 and reply.get_json()["owners"]
        assert json.loads(reply.get_data()) == json.loads(json.dumps(schema_dump))
