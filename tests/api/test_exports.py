"""CSV and XLSX exports (scrm/api/exports.py): what a spreadsheet shows, formulas never run,
Chinese file names, and memory that stays flat as the rows grow."""
from __future__ import annotations

import io
import tracemalloc
from datetime import datetime

import pytest
from flask import Flask
from openpyxl import load_workbook

from scrm.api.exports import export_response

COLUMNS = [("name", "客户"), ("count", "跟进次数"), ("at", "最近跟进")]
AT = datetime(2026, 3, 1, 9, 30)


@pytest.fixture
def ctx():
    app = Flask(__name__)
    with app.test_request_context():
        yield


def body(response) -> bytes:
    response.direct_passthrough = False
    data = b"".join(response.response)
    response.close()
    return data


def test_csv_has_a_bom_the_headers_and_escapes_formulas(ctx):
    rows = [{"name": "张三", "count": 3, "at": AT}, {"name": "=HYPERLINK(\"http://x\")", "count": 0, "at": None},
            ("@SUM(A1)", 1, AT), {"name": "-1+1", "count": 2, "at": AT}]
    response = export_response("csv", "跟进报表", COLUMNS, rows)
    assert response.mimetype == "text/csv"
    assert "filename*=UTF-8''%E8%B7%9F%E8%BF%9B%E6%8A%A5%E8%A1%A8.csv" in response.headers["Content-Disposition"]
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    assert text[1:].splitlines() == ["客户,跟进次数,最近跟进", "张三,3,2026-03-01 09:30:00",
                                     "\"'=HYPERLINK(\"\"http://x\"\")\",0,", "'@SUM(A1),1,2026-03-01 09:30:00",
                                     "'-1+1,2,2026-03-01 09:30:00"]


def test_xlsx_cells_are_typed_and_text_is_never_a_formula(ctx):
    rows = [{"name": "张三", "count": 3, "at": AT}, {"name": "=1+1", "count": 0, "at": None}]
    response = export_response("xlsx", "跟进报表", COLUMNS, rows, sheet="跟进")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(body(response)))
    sheet = workbook["跟进"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [["客户", "跟进次数", "最近跟进"], ["张三", 3, AT], ["=1+1", 0, None]]
    assert sheet["A3"].data_type == "s"  # a string, not the formula it looks like


def test_an_unknown_format_is_refused(ctx):
    with pytest.raises(ValueError):
        export_response("pdf", "x", COLUMNS, [])


@pytest.mark.parametrize("fmt, small", [("csv", 3_000), ("xlsx", 2_000)])
def test_memory_stays_flat_as_the_rows_grow(ctx, fmt, small):
    def rows(n):
        for i in range(n):
            yield {"name": f"客户{i:06d}", "count": i, "at": AT}

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            response = export_response(fmt, "x", COLUMNS, rows(n))
            response.direct_passthrough = False
            assert sum(len(chunk) for chunk in response.response) > 0  # read as a client would, not kept
            response.close()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(100)  # imports and first-use caches are not the export's memory
    small_peak, large_peak = peak(small), peak(small * 8)
    # eight times the rows: far less than twice the memory (a list of rows would take ~8x)
    assert large_peak < 2 * small_peak, (small_peak, large_peak)
