"""The channel report (渠道报表): channel_daily_stat built by channel_day (registered in the nightly
run), GET /api/v1/reports/channels (+ /export) and /api/v1/channel-costs, against a hand-built
history in Asia/Shanghai across the D1/D2 boundary (tests/reports/conftest.py adds the org and the
relations without a channel).

The clock stands at 2026-12-11 11:00 local (03:00 UTC): every add of D1..D3 is 7 days old; of
30 days old, those added before 2026-11-11 11:00 local (03:00 UTC on 11-11).

    code A (state ch_a; a deleted code C held ch_a before: the live one wins)
      wmA1 zhang D1 23:30  welcome sent        stage 意向 (beyond the first)   active
      wmA2 zhang D2 00:30  welcome too late    stage 初步接触 (the first)      deleted by the customer D3 09:00
      wmA3 li    D2 12:00  already chatting                                    handed over 11-13 (not a loss)
    code B (state ch_b)
      wmB1 wang  D1 08:00  welcome failed                                      deleted by wang 11-25 (day 15)
      wmB2 wang  D3 10:00  welcome sent                                        active
    no channel: conftest's wmC2, wmC3 (lost D3 09:00), wmC5, wmC6 (handed over), and wmN1 mgr_b D2 09:00
      (state of no code); losses in the range: wmC4 (D2 23:30), wmC3
    cost: code A 300 yuan in November (3 of 30 days in the range: 30 yuan), 999 yuan in October
"""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from scrm import clock
from scrm.extensions import db
from scrm.models import (
    AuditLog,
    Channel,
    ChannelCost,
    ChannelDailyStat,
    ChannelMonthStat,
    Customer,
    CustomerStage,
    FollowRelation,
    FunnelStage,
    StaffRole,
    WelcomeMessage,
)
from scrm.services import reports
from scrm.services.reports import nightly
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D1, D3, local, sign_in

RANGE = {"from": "2026-11-10", "to": "2026-11-12"}
REPORT = "/api/v1/reports/channels"
COSTS = "/api/v1/channel-costs"
NOW = datetime(2026, 12, 11, 3, 0)
_events = iter(range(1, 10**6))


def _channel(name, state, status="active"):
    row = Channel(corp_id=TEST_CORP_ID, name=name, type=1, scene=2, state=state, userids=[], tag_ids=[],
                  status=status)
    db.session.add(row)
    db.session.flush()
    return row.id


def _add(userid, external_userid, added, state, *, status="active", ended=None, welcome=None):
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=external_userid, name=f"渠道客户{external_userid}"))
    db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                                  added_at=local(added), created_at=local(added), status=status, state=state,
                                  status_changed_at=local(ended) if ended else None))
    if welcome:
        db.session.add(WelcomeMessage(corp_id=TEST_CORP_ID, event_id=next(_events), userid=userid,
                                      external_userid=external_userid, status=welcome, received_at=local(added)))


@pytest.fixture
def channels(history):
    old = _channel("旧活码", "ch_a", status="deleted")
    a, b = _channel("地推活码", "ch_a"), _channel("公众号活码", "ch_b")
    _add("zhang", "wmA1", "2026-11-10 23:30", "ch_a", welcome="sent")
    _add("zhang", "wmA2", "2026-11-11 00:30", "ch_a", status="deleted_by_customer", ended="2026-11-12 09:00",
         welcome="too_late")
    _add("li", "wmA3", "2026-11-11 12:00", "ch_a", status="transferred", ended="2026-11-13 10:00",
         welcome="already_chatting")
    _add("wang", "wmB1", "2026-11-10 08:00", "ch_b", status="deleted_by_staff", ended="2026-11-25 10:00",
         welcome="failed")
    _add("wang", "wmB2", "2026-11-12 10:00", "ch_b", welcome="sent")
    _add("mgr_b", "wmN1", "2026-11-11 09:00", "no_such_code")
    first, second = FunnelStage(corp_id=TEST_CORP_ID, name="初步接触", order=1), \
        FunnelStage(corp_id=TEST_CORP_ID, name="意向", order=2)
    db.session.add_all([first, second])
    db.session.flush()
    db.session.add_all([CustomerStage(corp_id=TEST_CORP_ID, external_userid="wmA1", stage_id=second.id),
                        CustomerStage(corp_id=TEST_CORP_ID, external_userid="wmA2", stage_id=first.id)])
    db.session.add_all([ChannelCost(corp_id=TEST_CORP_ID, channel_id=a, month=datetime(2026, 11, 1).date(),
                                    amount_fen=30000),
                        ChannelCost(corp_id=TEST_CORP_ID, channel_id=a, month=datetime(2026, 10, 1).date(),
                                    amount_fen=99900)])
    db.session.commit()
    return {"a": a, "b": b, "old": old}


@pytest.fixture
def built(channels):
    clock.freeze(NOW)
    reports.rebuild(TEST_CORP_ID, D1, D3)
    return channels


def rows_of(body):
    return {row["channel_id"]: row for row in body["channels"]}


FIGURES = ("adds", "welcomed", "eligible_7", "retained_7", "eligible_30", "retained_30", "staged", "lost")


def figures(row):
    return tuple(row[k] for k in FIGURES)


def test_the_aggregate_per_day_code_and_member(built):
    s = ChannelDailyStat
    got = {(r.day.isoformat(), r.channel_id, r.userid): (r.adds, r.welcomed, r.retained_7, r.eligible_30, r.lost)
           for r in db.session.scalars(select(s).where(s.day.between(D1, D3), s.channel_id.in_((built["a"],
                                                                                                 built["b"]))))}
    assert len(got) == db.session.scalar(select(func.count()).select_from(s).where(
        s.day.between(D1, D3), s.channel_id.in_((built["a"], built["b"]))))  # one stage per member and day here
    assert got == {  # wmA1 at 23:30 on D1, wmA2 at 00:30 on D2: one a day
        ("2026-11-10", built["a"], "zhang"): (1, 1, 1, 1, 0),
        ("2026-11-11", built["a"], "zhang"): (1, 0, 0, 1, 0),
        ("2026-11-11", built["a"], "li"): (1, 1, 1, 0, 0),
        ("2026-11-12", built["a"], "zhang"): (0, 0, 0, 0, 1),  # wmA2's loss on D3
        ("2026-11-10", built["b"], "wang"): (1, 0, 1, 1, 0),
        ("2026-11-12", built["b"], "wang"): (1, 1, 1, 0, 0),
    }
    assert db.session.scalar(select(func.max(s.department_id)).where(s.userid == "li")) == 3


def test_the_report_per_channel_code(get, built):
    reply = get(REPORT, **RANGE)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    rows = rows_of(body)
    assert built["old"] not in rows  # deleted, nothing of its own
    a, b, none = rows[built["a"]], rows[built["b"]], rows[None]
    assert (a["name"], a["state"]) == ("地推活码", "ch_a")
    assert figures(a) == (3, 2, 3, 2, 2, 1, 1, 1)
    assert (a["welcome_rate"], a["retention_7"], a["retention_30"], a["staged_rate"]) == (66.67, 66.67, 50.0, 33.33)
    # 300 yuan over November's 30 days: 3 days in the range → 3000 fen; 3 adds; 2 of 3 stay 7 days, 1 of 2 30 days
    assert (a["cost_fen"], a["cost_per_add_fen"], a["cost_per_retained_7_fen"], a["cost_per_retained_30_fen"]) == (
        3000, 1000, 1500, 2000)
    stage = {s["name"]: str(s["id"]) for s in body["stages"]}
    assert list(stage) == ["初步接触", "意向"]  # in the funnel's order
    assert a["stages"] == {stage["初步接触"]: 1, stage["意向"]: 1}  # wmA2, wmA1; wmA3 has no stage
    assert figures(b) == (2, 1, 2, 2, 1, 0, 0, 0)
    assert b["stages"] == {} and body["totals"]["stages"] == a["stages"]
    assert (b["retention_30"], b["cost_fen"], b["cost_per_retained_7_fen"]) == (0.0, None, None)
    assert figures(none) == (5, 0, 5, 4, 4, 3, 0, 2)
    assert body["channels"][-1]["channel_id"] is None
    totals = body["totals"]
    assert figures(totals) == (10, 3, 10, 8, 7, 4, 1, 3)
    assert (totals["cost_fen"], totals["cost_per_add_fen"]) == (3000, 1000)  # over the codes with a cost


def test_whole_months_are_read_from_the_monthly_roll_up(client, get, built):
    s, m = ChannelDailyStat, ChannelMonthStat
    assert db.session.scalar(select(func.sum(m.adds)).where(m.month == datetime(2026, 11, 1).date())) == 10
    assert db.session.scalar(select(func.count()).select_from(m)) < db.session.scalar(
        select(func.count()).select_from(s))  # a member's code and stage once a month
    days = get(REPORT, **RANGE).get_json()
    for params in ({"from": "2026-11-01", "to": "2026-11-30"}, {"from": "2026-10-20", "to": "2026-12-05"}):
        body = get(REPORT, **params).get_json()  # November from the month's row (and the days around it)
        assert [figures(r) for r in body["channels"]] == [figures(r) for r in days["channels"]], params
        assert body["totals"]["stages"] == days["totals"]["stages"]
    sign_in(client, "mgr_a")
    mine = rows_of(client.get("/console" + REPORT, query_string={"from": "2026-11-01", "to": "2026-11-30"}).get_json())
    assert (mine[built["a"]]["adds"], mine[None]["adds"]) == (3, 3) and built["b"] not in mine


def test_cost_is_spread_over_the_days_of_each_month(get, built):
    whole = rows_of(get(REPORT, **{"from": "2026-11-01", "to": "2026-11-30"}).get_json())[built["a"]]
    assert whole["cost_fen"] == 30000
    across = rows_of(get(REPORT, **{"from": "2026-10-31", "to": "2026-11-01"}).get_json())[built["a"]]
    assert across["cost_fen"] == round(99900 / 31) + 1000  # a day of October, a day of November


def test_filters_and_data_scopes(client, get, built):
    li = rows_of(get(REPORT, userid="li", **RANGE).get_json())
    assert figures(li[built["a"]])[:2] == (1, 1) and li[built["a"]]["cost_fen"] == 1000  # a third of the adds
    subtree = rows_of(get(REPORT, department_id=2, **RANGE).get_json())
    assert (subtree[built["a"]]["adds"], subtree[built["b"]]["adds"], subtree[None]["adds"]) == (3, 0, 3)
    sign_in(client, "mgr_a")
    mine = rows_of(client.get("/console" + REPORT, query_string=RANGE).get_json())
    assert (mine[built["a"]]["adds"], mine[None]["adds"]) == (3, 3)
    assert built["b"] not in mine  # a restricted viewer: only the codes their members' adds came through
    other = client.get("/console" + REPORT, query_string={**RANGE, "department_id": 4}).get_json()
    assert other["totals"]["adds"] == 0
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    sign_in(client, "mgr_b")
    theirs = rows_of(client.get("/console" + REPORT, query_string=RANGE).get_json())
    assert (theirs[built["b"]]["adds"], theirs[None]["adds"]) == (2, 2)  # wmC6 and wmN1 without a code
    assert built["a"] not in theirs
    sign_in(client, "zhang")
    own = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert (rows_of(own)[built["a"]]["adds"], rows_of(own)[built["a"]]["cost_fen"]) == (2, 2000)
    assert own["totals"]["adds"] == 4  # wmA1, wmA2, wmC2, wmC3
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "li"}).status_code == 404


def test_bad_filters_are_422(get, built):
    backwards = get(REPORT, **{"from": "2026-11-12", "to": "2026-11-10"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["errors"]["query"]
    assert get(REPORT, **{"from": "2025-01-01", "to": "2026-11-12"}).status_code == 422
    assert get(REPORT, department_id=0).status_code == 422
    assert get(REPORT + "/export", format="pdf", **RANGE).status_code == 422


def test_cohorts_of_the_last_31_days_are_updated_by_today_s_refresh(channels):
    clock.freeze(datetime(2026, 11, 14, 4, 0, tzinfo=UTC))  # D3 + 2: nothing 7 days old yet
    reports.rebuild(TEST_CORP_ID, D1, D3)
    s = ChannelDailyStat
    eligible = select(func.sum(s.eligible_7), func.sum(s.eligible_30)).where(s.day.between(D1, D3))
    assert tuple(db.session.execute(eligible).one()) == (0, 0)
    clock.freeze(NOW)
    nightly.refresh_corp(TEST_CORP_ID, datetime(2026, 12, 11).date())  # today's rows, and the open cohorts
    db.session.commit()
    assert tuple(db.session.execute(eligible).one()) == (10, 7)


def test_the_nightly_run_builds_the_channel_aggregate(channels):
    clock.freeze(NOW)
    assert nightly.run_nightly(datetime(2026, 12, 10, 22, 0)) == 1  # 06:00 local on 12-11
    s = ChannelDailyStat
    assert db.session.scalar(select(func.sum(s.adds)).where(s.day.between(D1, D3))) == 10


def test_export_xlsx_and_csv(get, built):
    reply = get(REPORT + "/export", **RANGE)
    assert reply.status_code == 200
    sheet = [[c.value for c in row] for row in load_workbook(io.BytesIO(reply.get_data())).active.iter_rows()]
    header = sheet[0]
    assert header[:4] == ["渠道", "渠道参数", "新增客户", "欢迎语已发送"]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in sheet[1:]}
    a = by_name["地推活码"]
    assert (a["新增客户"], a["成本(元)"], a["30日留存单客成本(元)"]) == (3, 30, 20)
    assert by_name["无渠道"]["新增客户"] == 5 and by_name["合计"]["流失客户"] == 3
    assert header[-2:] == ["阶段：初步接触", "阶段：意向"] and (a["阶段：初步接触"], a["阶段：意向"]) == (1, 1)
    assert list(by_name)[-1] == "合计"
    csv = get(REPORT + "/export", format="csv", **RANGE)
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("渠道,渠道参数,新增客户") and lines[-1].startswith("合计,")
    assert db.session.query(AuditLog).filter_by(action="api_export_report", target_id="channels").count() == 2


def test_channel_costs_open_api(client, built):
    token = create_token("ops", TEST_CORP_ID, scope="write")
    auth = {"Authorization": f"Bearer {token}"}
    a = built["a"]
    put = client.put(f"{COSTS}/{a}/2026-11", json={"amount_fen": 60000}, headers=auth)
    assert put.status_code == 200, put.get_json()
    assert (put.get_json()["month"], put.get_json()["amount_fen"]) == ("2026-11", 60000)
    listed = client.get(COSTS, query_string={"from_month": "2026-10", "to_month": "2026-11"}, headers=auth).get_json()
    assert [(r["channel_id"], r["month"], r["amount_fen"]) for r in listed] == [(a, "2026-10", 99900),
                                                                               (a, "2026-11", 60000)]
    report = client.get(REPORT, query_string=RANGE, headers=auth).get_json()
    assert rows_of(report)[a]["cost_fen"] == 6000
    assert client.put(f"{COSTS}/{a}/2026-13", json={"amount_fen": 1}, headers=auth).status_code == 422
    assert client.put(f"{COSTS}/{a}/2026-11", json={"amount_fen": -1}, headers=auth).status_code == 422
    assert client.put(f"{COSTS}/{a}/2026-11", json={"amount_fen": "12"}, headers=auth).status_code == 422
    assert client.get(COSTS, query_string={"from_month": "2026-12", "to_month": "2026-11"},
                      headers=auth).status_code == 422
    assert client.put(f"{COSTS}/999999/2026-11", json={"amount_fen": 1}, headers=auth).status_code == 404
    assert client.delete(f"{COSTS}/{a}/2026-10", headers=auth).status_code == 204
    assert client.delete(f"{COSTS}/{a}/2026-10", headers=auth).status_code == 404
    reader = {"Authorization": f"Bearer {create_token('bi', TEST_CORP_ID, scope='read')}"}
    assert client.put(f"{COSTS}/{a}/2026-11", json={"amount_fen": 1}, headers=reader).status_code == 403
    assert db.session.query(AuditLog).filter_by(action="channel_cost_set", target_id=str(a)).count() == 1


def test_operators_edit_costs_and_managers_only_read(client, built):
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="li", role="operator", data_scope="corp"))
    db.session.commit()
    csrf = sign_in(client, "li")
    put = client.put(f"/console{COSTS}/{built['b']}/2026-11", json={"amount_fen": 12300},
                     headers={"X-CSRF-Token": csrf})
    assert put.status_code == 200
    assert db.session.scalar(select(ChannelCost.amount_fen).where(ChannelCost.channel_id == built["b"])) == 12300
    csrf = sign_in(client, "mgr_a")
    assert client.get(f"/console{COSTS}").status_code == 200
    assert client.put(f"/console{COSTS}/{built['b']}/2026-11", json={"amount_fen": 1},
                      headers={"X-CSRF-Token": csrf}).status_code == 403


def test_the_console_page_and_its_link(client, built):
    sign_in(client, "mgr_a")
    page = client.get("/console/reports/channels")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="tpl-reports-channels"' in html and "reports_channels.js" in html and "report_common.js" in html
    assert 'data-report="channels"' in html and 'aria-current="page"' in html
    assert 'href="/console/reports/channels"' in client.get("/console/reports").get_data(as_text=True)
