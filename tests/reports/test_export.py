"""GET /api/v1/reports/follow-up/export and /follow-up/drill/export: the report and the customers
behind a figure as XLSX or CSV, the same filters and data scopes as the JSON, times corp-local,
each export in the audit log."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from scrm.extensions import db
from scrm.models import AuditLog
from tests.reports.conftest import sign_in

RANGE = {"from": "2026-11-10", "to": "2026-11-12"}






def sheet(reply) -> list[list]:
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(reply.get_data()))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_the_report_as_xlsx_per_member_and_per_department(get, built):
    rows = sheet(get("/api/v1/reports/follow-up/export", **RANGE))
    header = rows[0]
    assert header[:5] == ["成员", "成员账号", "部门", "客户数", "新增客户"]
    by_user = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:-1]}
    assert (by_user["zhang"]["成员"], by_user["zhang"]["客户数"], by_user["zhang"]["新增客户"]) == ("名zhang", 2, 2)
    assert by_user["wang"]["转出客户"] == 1
    total = dict(zip(header, rows[-1], strict=True))
    assert total["成员"] == "合计" and total["新增客户"] == 4
    departments = sheet(get("/api/v1/reports/follow-up/export", rows="departments", **RANGE))
    assert departments[0][:2] == ["部门", "成员数"] and departments[-1][0] == "合计"


def test_the_customers_behind_a_figure_as_csv_in_local_time(get, built):
    reply = get("/api/v1/reports/follow-up/drill/export", figure="new_customers", format="csv", userid="zhang",
                **RANGE)
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    lines = reply.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "成员,成员账号,客户,客户ID,时间"
    assert lines[1:] == ["名zhang,zhang,客户3,wmC3,2026-11-11 00:30:00", "名zhang,zhang,客户2,wmC2,2026-11-10 23:30:00"]
    exports = db.session.query(AuditLog).filter_by(action="api_export_report", target_id="follow-up/new_customers")
    assert exports.count() == 1


def test_exports_follow_the_data_scope_and_refuse_bad_input(client, get, built):
    sign_in(client, "mgr_b")
    rows = sheet(client.get("/console/api/v1/reports/follow-up/export", query_string=RANGE))
    assert {row[1] for row in rows[1:-1]} == {"mgr_b", "wang"}
    reply = client.get("/console/api/v1/reports/follow-up/drill/export",
                       query_string={"figure": "customers", "userid": "zhang", **RANGE})
    assert reply.status_code == 404  # another department's member
    assert get("/api/v1/reports/follow-up/export", format="pdf", **RANGE).status_code == 422
    assert get("/api/v1/reports/follow-up/drill/export", figure="nope", **RANGE).status_code == 422
