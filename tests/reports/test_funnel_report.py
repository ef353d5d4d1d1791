"""The funnel report (销售漏斗): stage_daily_stat against a hand-computed history across Shanghai
day boundaries, GET /api/v1/reports/funnel (stages, conversion, series, per member and channel),
data scopes, 422s and the CSV / XLSX export.

On top of tests/reports/conftest.py's relations (D1 11-10, D2 11-11, D3 11-12; S1 → S2 → S3):

    wmC1 zhang      S1 11-05, S2 D1 23:30, S3 D2 00:30     → D1 S2, D2 S3, D3 S3; entries S2@D1, S3@D2
    wmC2 zhang qr_a added D1 23:30; S1 D1 23:40, S2 D3 10:00 → S1, S1, S2; entries S1@D1, S2@D3
    wmC4 zhang      S1 11-06; relation ended D2 23:30       → D1 S1, gone from D2
    wmC3 zhang      added D2 00:30; S1 D2 01:00, cleared D2 20:00 → entry S1@D2, never in a stock
    wmC5 li         S1 D1 09:00, before li's add D2 12:00   → S1 from D2, no entry
    wmC6 wang       S2 D2 08:00; handed over D3 10:00       → D2 S2, gone on D3; entry S2@D2
    wmC7 wang       customer_stage S1 (no change recorded)  → S1 every day, no entry
"""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from scrm.extensions import db
from scrm.models import CustomerStage, FollowRelation, FunnelStage, StageDailyStat, StageDailyTotal, TimelineEntry
from scrm.services import reports
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D1, D2, D3, local, sign_in

RANGE = {"from": "2026-11-10", "to": "2026-11-12"}
REPORT = "/api/v1/reports/funnel"
EXPORT = "/api/v1/reports/funnel/export"


def _change(external_userid: str, userid: str, at: str, to: int | None) -> None:
    db.session.add(TimelineEntry(corp_id=TEST_CORP_ID, external_userid=external_userid, userid=userid,
                                 kind="stage_changed", source="sidebar", occurred_at=local(at),
                                 data={"from": None, "to": to}))


@pytest.fixture
def stages(history):
    names = ("初步接触", "意向", "成交")
    rows = [FunnelStage(corp_id=TEST_CORP_ID, name=name, order=n) for n, name in enumerate(names)]
    db.session.add_all(rows)
    db.session.add(FunnelStage(corp_id=TEST_CORP_ID, name="旧阶段", order=9, deleted=True))
    db.session.flush()
    s1, s2, s3 = (r.id for r in rows)
    db.session.execute(update(FollowRelation).where(FollowRelation.external_userid == "wmC2").values(state="qr_a"))
    _change("wmC1", "zhang", "2026-11-05 10:00", s1)
    _change("wmC1", "zhang", "2026-11-10 23:30", s2)
    _change("wmC1", "zhang", "2026-11-11 00:30", s3)
    _change("wmC2", "zhang", "2026-11-10 23:40", s1)
    _change("wmC2", "zhang", "2026-11-12 10:00", s2)
    _change("wmC4", "zhang", "2026-11-06 09:00", s1)
    _change("wmC3", "zhang", "2026-11-11 01:00", s1)
    _change("wmC3", "zhang", "2026-11-11 20:00", None)
    _change("wmC5", "boss", "2026-11-10 09:00", s1)
    _change("wmC6", "wang", "2026-11-11 08:00", s2)
    for customer, stage in (("wmC1", s3), ("wmC2", s2), ("wmC4", s1), ("wmC5", s1), ("wmC6", s2)):
        db.session.add(CustomerStage(corp_id=TEST_CORP_ID, external_userid=customer, stage_id=stage))
    db.session.add(CustomerStage(corp_id=TEST_CORP_ID, external_userid="wmC7", stage_id=s1,
                                 created_at=local("2026-11-08 10:00"), updated_at=local("2026-11-08 10:00")))
    db.session.commit()
    return s1, s2, s3


@pytest.fixture
def funnel_built(stages):
    reports.rebuild(TEST_CORP_ID, D1, D3, now=datetime(2026, 11, 13, 4))
    return stages


def stat_rows(first=D1, last=D3) -> dict:
    s = StageDailyStat
    rows = db.session.execute(select(s.day, s.stage_id, s.userid, s.state, s.customers, s.entered, s.entered_total)
                              .where(s.corp_id == TEST_CORP_ID, s.day.between(first, last)))
    return {(r.day, r.stage_id, r.userid, r.state): (r.customers, r.entered, r.entered_total) for r in rows}


def expected(s1, s2, s3) -> dict:
    """(customers, entered, entered_total); before D1 zhang's wmC1 and wmC4 entered S1 (11-05, 11-06).
    A key stays once it has entries (its running total), zeros otherwise."""
    return {
        (D1, s2, "zhang", ""): (1, 1, 1), (D1, s1, "zhang", ""): (1, 0, 2), (D1, s1, "zhang", "qr_a"): (1, 1, 1),
        (D1, s1, "wang", ""): (1, 0, 0),
        (D2, s3, "zhang", ""): (1, 1, 1), (D2, s2, "zhang", ""): (0, 0, 1), (D2, s1, "zhang", ""): (0, 1, 3),
        (D2, s1, "zhang", "qr_a"): (1, 0, 1), (D2, s1, "li", ""): (1, 0, 0), (D2, s2, "wang", ""): (1, 1, 1),
        (D2, s1, "wang", ""): (1, 0, 0),
        (D3, s3, "zhang", ""): (1, 0, 1), (D3, s2, "zhang", "qr_a"): (1, 1, 1), (D3, s1, "li", ""): (1, 0, 0),
        (D3, s1, "wang", ""): (1, 0, 0), (D3, s2, "zhang", ""): (0, 0, 1), (D3, s1, "zhang", ""): (0, 0, 3),
        (D3, s1, "zhang", "qr_a"): (0, 0, 1), (D3, s2, "wang", ""): (0, 0, 1),
    }


def totals(first=D1, last=D3) -> dict:
    t = StageDailyTotal
    rows = db.session.execute(select(t.day, t.stage_id, t.customers, t.entered).where(t.corp_id == TEST_CORP_ID,
                                                                                     t.day.between(first, last)))
    return {(r.day, r.stage_id): (r.customers, r.entered) for r in rows}


def test_the_aggregate_matches_the_hand_computed_history(funnel_built):
    s1, s2, s3 = funnel_built
    assert stat_rows() == expected(s1, s2, s3)
    assert totals() == {(D1, s1): (3, 1), (D1, s2): (1, 1), (D2, s1): (3, 1), (D2, s2): (1, 1), (D2, s3): (1, 1),
                        (D3, s1): (2, 0), (D3, s2): (1, 1), (D3, s3): (1, 0)}
    dept = db.session.scalar(select(StageDailyStat.department_id).where(StageDailyStat.userid == "li").limit(1))
    assert dept == 3


def test_todays_refresh_from_yesterdays_rows_equals_a_rebuild(stages):
    reports.rebuild(TEST_CORP_ID, D1, D2, now=datetime(2026, 11, 13, 4))
    written = reports.refresh_corp(TEST_CORP_ID, D3)
    assert written["stage_day"] == 8  # four in a stage, four keeping their running total of entries
    assert stat_rows(D3, D3) == {k: v for k, v in expected(*stages).items() if k[0] == D3}
    assert stat_rows(D1, D2) == {k: v for k, v in expected(*stages).items() if k[0] != D3}
    refreshed = totals(D3, D3)
    reports.rebuild(TEST_CORP_ID, D3, D3, now=datetime(2026, 11, 13, 4))
    assert totals(D3, D3) == refreshed and stat_rows(D3, D3) == {k: v for k, v in expected(*stages).items()
                                                                  if k[0] == D3}


def _stages(body: dict) -> list[tuple]:
    return [(st["name"], st["customers"], st["entered"], st["conversion"]) for st in body["stages"]]


def test_the_report_per_stage_member_channel_and_day(get, funnel_built):
    s1, s2, s3 = funnel_built
    reply = get(REPORT, **RANGE)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["from"], body["to"], body["last_day"], body["granularity"]) == (
        "2026-11-10", "2026-11-12", "2026-11-12", "day")
    # D3's stocks; entries S1 2 (wmC2, wmC3), S2 3 (wmC1, wmC6, wmC2), S3 1; the deleted stage left out
    assert _stages(body) == [("初步接触", 2, 2, 1.5), ("意向", 1, 3, 0.3333), ("成交", 1, 1, None)]
    assert body["customers"] == 4
    assert body["series"] == [{"day": "2026-11-10", "customers": [3, 1, 0]},
                              {"day": "2026-11-11", "customers": [3, 1, 1]},
                              {"day": "2026-11-12", "customers": [2, 1, 1]}]
    staff = {r["userid"]: [(c["customers"], c["entered"]) for c in r["stages"]] for r in body["staff"]}
    assert staff == {"zhang": [(0, 2), (1, 2), (1, 1)], "li": [(1, 0), (0, 0), (0, 0)],
                     "wang": [(1, 0), (0, 1), (0, 0)]}
    zhang = next(r for r in body["staff"] if r["userid"] == "zhang")
    assert (zhang["name"], zhang["department_name"], zhang["customers"]) == ("名zhang", "A", 2)
    channels = {r["channel"]: (r["name"], [(c["customers"], c["entered"]) for c in r["stages"]])
                for r in body["channels"]}
    assert channels == {"": ("无渠道", [(2, 1), (0, 2), (1, 1)]), "qr_a": ("qr_a", [(0, 1), (1, 1), (0, 0)])}


def test_one_day_and_the_channel_filter(get, funnel_built):
    day = get(REPORT, **{"from": "2026-11-11", "to": "2026-11-11"}).get_json()
    assert _stages(day) == [("初步接触", 3, 1, 1.0), ("意向", 1, 1, 1.0), ("成交", 1, 1, None)]
    qr = get(REPORT, channel="qr_a", **RANGE).get_json()
    assert _stages(qr) == [("初步接触", 0, 1, 1.0), ("意向", 1, 1, 0.0), ("成交", 0, 0, None)]
    assert [r["userid"] for r in qr["staff"]] == ["zhang"] and [r["channel"] for r in qr["channels"]] == ["qr_a"]
    team = get(REPORT, department_id=2, **RANGE).get_json()  # A and A1: zhang and li
    assert {r["userid"] for r in team["staff"]} == {"zhang", "li"} and team["customers"] == 3


def test_long_ranges_are_weekly(get, funnel_built):
    body = get(REPORT, **{"from": "2026-08-01", "to": "2026-11-12"}).get_json()
    assert body["granularity"] == "week"
    # entries counted from the first aggregated day (D1), as for D1..D3
    assert _stages(body) == [("初步接触", 2, 2, 1.5), ("意向", 1, 3, 0.3333), ("成交", 1, 1, None)]
    assert [p["day"] for p in body["series"]][-2:] == ["2026-11-05", "2026-11-12"]
    assert body["series"][-1]["customers"] == [2, 1, 1] and body["series"][-2]["customers"] == [0, 0, 0]


def test_bad_filters_are_422(get, funnel_built):
    backwards = get(REPORT, **{"from": "2026-11-12", "to": "2026-11-10"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["errors"]["query"]
    too_long = get(REPORT, **{"from": "2025-01-01", "to": "2026-11-12"})
    assert too_long.status_code == 422 and "to" in too_long.get_json()["errors"]["query"]
    assert get(REPORT, department_id=0).status_code == 422
    assert get(REPORT, channel="x" * 65).status_code == 422
    bad_rows = get(EXPORT, rows="everything", **RANGE)
    assert bad_rows.status_code == 422 and "rows" in bad_rows.get_json()["errors"]["query"]
    assert get(EXPORT, format="pdf", **RANGE).status_code == 422


def test_data_scopes(client, funnel_built):
    sign_in(client, "mgr_a")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert {r["userid"] for r in body["staff"]} == {"zhang", "li"}
    assert _stages(body)[0][:3] == ("初步接触", 1, 2)
    other = client.get("/console" + REPORT, query_string={**RANGE, "department_id": 4}).get_json()
    assert other["staff"] == [] and other["customers"] == 0 and other["series"][-1]["customers"] == [0, 0, 0]
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    sign_in(client, "mgr_b")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert {r["userid"] for r in body["staff"]} == {"wang"} and body["customers"] == 1
    sign_in(client, "zhang")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert {r["userid"] for r in body["staff"]} == {"zhang"} and body["customers"] == 2
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "li"}).status_code == 404
    assert client.get("/console" + EXPORT, query_string={**RANGE, "userid": "li"}).status_code == 404
    sign_in(client, "boss")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert {r["userid"] for r in body["staff"]} == {"zhang", "li", "wang"}


def test_export_xlsx_and_csv(get, funnel_built):
    reply = get(EXPORT, **RANGE)
    assert reply.status_code == 200
    sheet = load_workbook(io.BytesIO(reply.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["成员", "成员账号", "部门", "客户数", "初步接触·客户数", "初步接触·进入", "意向·客户数",
                       "意向·进入", "成交·客户数", "成交·进入"]
    assert rows[1:] == [["名li", "li", "A1", 1, 1, 0, 0, 0, 0, 0], ["名wang", "wang", "B", 1, 1, 0, 0, 1, 0, 0],
                        ["名zhang", "zhang", "A", 2, 0, 2, 1, 2, 1, 1], ["合计", None, None, 4, 2, 2, 1, 3, 1, 1]]
    per_stage = get(EXPORT, format="csv", rows="stages", **RANGE)
    assert per_stage.status_code == 200 and per_stage.mimetype == "text/csv"
    lines = per_stage.data.decode("utf-8-sig").splitlines()
    assert lines == ["阶段,客户数,进入,转化率(%)", "初步接触,2,2,150.0", "意向,1,3,33.33", "成交,1,1,", "合计,4,6,"]
    channels = get(EXPORT, format="csv", rows="channels", channel="qr_a", **RANGE).data.decode("utf-8-sig")
    assert channels.splitlines()[1:] == ["qr_a,qr_a,1,0,1,1,1,0,0", "合计,,1,0,1,1,1,0,0"]


def test_the_console_page_links_the_reports(client, funnel_built):
    sign_in(client, "mgr_a")
    page = client.get("/console/reports/funnel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="tpl-reports-funnel"' in html and "reports_funnel.js" in html and "report_common.js" in html
    assert 'data-report="funnel"' in html and 'aria-current="page">销售漏斗' in html
    assert client.get("/console/reports/nothing").status_code == 404
