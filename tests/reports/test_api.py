"""GET /api/v1/reports/follow-up and /follow-up/drill: figures, departments, totals, drill-down,
data scopes (a manager sees their departments only, a sales member only themselves), 422s."""
from __future__ import annotations

import json
from datetime import date

from scrm.schemas.reports import FollowUpReportSchema
from scrm.services.reports import follow_up
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D1, D3, sign_in

RANGE = {"from": "2026-11-10", "to": "2026-11-12"}
REPORT = "/api/v1/reports/follow-up"
DRILL = "/api/v1/reports/follow-up/drill"


def by_userid(body: dict) -> dict:
    return {row["userid"]: row for row in body["staff"]}


def test_the_report_per_member_department_and_total(get, built):
    reply = get(REPORT, **RANGE)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["from"], body["to"], body["last_day"]) == ("2026-11-10", "2026-11-12", "2026-11-12")
    zhang = by_userid(body)["zhang"]
    assert {k: zhang[k] for k in ("customers", "new_customers", "lost_by_staff", "lost_by_customer", "lost",
                                  "follow_ups", "next_due", "next_overdue", "sop_due", "sop_confirmed",
                                  "sop_pending", "first_replies", "first_reply_avg_seconds")} == {
        "customers": 2, "new_customers": 2, "lost_by_staff": 1, "lost_by_customer": 1, "lost": 2, "follow_ups": 2,
        "next_due": 2, "next_overdue": 1, "sop_due": 2, "sop_confirmed": 1, "sop_pending": 1, "first_replies": 1,
        "first_reply_avg_seconds": 2400}
    # WeCom's figures: 4 chats at 50 % and 6 min, 2 at 100 % and 3 min
    assert (zhang["chats"], zhang["messages"], zhang["reply_rate"], zhang["avg_reply_minutes"]) == (6, 14, 66.67, 5.0)
    assert (zhang["name"], zhang["department_id"], zhang["department_name"]) == ("名zhang", 2, "A")
    assert by_userid(body)["wang"]["transferred_out"] == 1
    assert by_userid(body)["li"]["reply_rate"] is None
    departments = {row["department_id"]: row for row in body["departments"]}
    assert (departments[2]["members"], departments[2]["customers"], departments[2]["new_customers"]) == (2, 2, 2)
    assert (departments[4]["customers"], departments[4]["new_customers"]) == (1, 1)
    totals = body["totals"]
    assert (totals["members"], totals["customers"], totals["new_customers"], totals["lost"]) == (6, 4, 4, 2)
    assert (totals["recall_pending"], totals["follow_ups"], totals["chats"]) == (1, 3, 6)


def test_the_answer_is_the_documented_schemas_dump(get, built):
    """The view sends the report without marshmallow's per-field dump (plain_json): it must be
    exactly what FollowUpReportSchema would have sent, Decimal sums and dates included."""
    for params, first, last, extra in ((RANGE, D1, D3, {}), ({"from": "2026-11-01", "to": "2026-11-30"},
                                       date(2026, 11, 1), date(2026, 11, 30), {"department_id": 2})):
        reply = get(REPORT, **params, **extra)
        schema_dump = FollowUpReportSchema().dump(follow_up.report(TEST_CORP_ID, first, last, **extra))
        assert json.loads(reply.get_data()) == json.loads(json.dumps(schema_dump))
        assert reply.get_json()["staff"] and all(type(v) in (int, float, str, type(None))
                                                 for row in reply.get_json()["staff"] for v in row.values())


def test_filters_by_department_subtree_and_member(get, built):
    subtree = get(REPORT, department_id=2, **RANGE).get_json()  # A and A1 below it
    assert set(by_userid(subtree)) == {"mgr_a", "zhang", "li"}
    assert subtree["totals"]["customers"] == 3
    one = get(REPORT, userid="li", **RANGE).get_json()
    assert set(by_userid(one)) == {"li"} and one["totals"]["recall_due"] == 1


def test_drill_down_to_the_customers_behind_a_figure(get, built):
    overdue = get(DRILL, figure="next_overdue", userid="zhang", **RANGE)
    assert overdue.status_code == 200
    assert [(r["external_userid"], r["name"], r["at"]) for r in overdue.get_json()] == [
        ("wmC1", "客户1", "2026-11-12T00:00:00Z")]  # due D3 08:00 local
    new = get(DRILL, figure="new_customers", department_id=2, page_size=1, **RANGE)
    assert [r["external_userid"] for r in new.get_json()] == ["wmC5"]  # newest first
    assert '"total": 3' in new.headers["X-Pagination"]
    lost = get(DRILL, figure="lost_by_customer", **RANGE).get_json()
    assert [(r["userid"], r["external_userid"]) for r in lost] == [("zhang", "wmC3")]
    owned = get(DRILL, figure="customers", userid="wang", **RANGE).get_json()
    assert [r["external_userid"] for r in owned] == ["wmC7"]  # wmC6 was handed over on D3


def test_bad_ranges_and_figures_are_422(get, built):
    backwards = get(REPORT, **{"from": "2026-11-12", "to": "2026-11-10"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["errors"]["query"]
    too_long = get(REPORT, **{"from": "2025-01-01", "to": "2026-11-12"})
    assert too_long.status_code == 422 and "to" in too_long.get_json()["errors"]["query"]
    assert get(REPORT, **{"from": "2026-13-01"}).status_code == 422
    assert get(REPORT, department_id=0).status_code == 422
    bad_figure = get(DRILL, figure="everything", **RANGE)
    assert bad_figure.status_code == 422 and "figure" in bad_figure.get_json()["errors"]["query"]
    assert get(DRILL, **RANGE).status_code == 422  # figure is required


def test_a_manager_sees_their_departments_only(client, built):
    sign_in(client, "mgr_a")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by_userid(body)) == {"mgr_a", "zhang", "li"}
    other = client.get("/console" + REPORT, query_string={**RANGE, "department_id": 4}).get_json()
    assert other["staff"] == [] and other["totals"]["customers"] == 0
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    assert client.get("/console" + DRILL, query_string={**RANGE, "figure": "customers", "userid": "wang"}
                      ).status_code == 404
    drilled = client.get("/console" + DRILL, query_string={**RANGE, "figure": "customers"}).get_json()
    assert {r["userid"] for r in drilled} == {"zhang", "li"}
    sign_in(client, "mgr_b")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by_userid(body)) == {"mgr_b", "wang"}


def test_a_sales_member_sees_only_themselves(client, built):
    sign_in(client, "zhang")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by_userid(body)) == {"zhang"} and body["totals"]["customers"] == 2
    drilled = client.get("/console" + DRILL, query_string={**RANGE, "figure": "new_customers"}).get_json()
    assert {r["userid"] for r in drilled} == {"zhang"}
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "li"}).status_code == 404


def test_the_boss_sees_everyone(client, built):
    sign_in(client, "boss")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by_userid(body)) == {"boss", "mgr_a", "zhang", "li", "mgr_b", "wang"}
