"""CSV and XLSX downloads of a report or a list, streamed in constant memory.

One way to export, for every report (issue #15) and list: the view passes the columns and an
iterable of rows (a generator over a server-side cursor, never a list of everything), and gets a
Response back.

* CSV: UTF-8 with a byte-order mark (Excel on a Chinese Windows reads UTF-8 only with it), written
  and sent a chunk of rows at a time.
* XLSX: openpyxl's write-only workbook (rows go to a temporary file as they are appended; memory
  stays flat whatever the row count), saved to a temporary file that is unlinked at once and sent
  from its open handle.

Customer-controlled text is data, never a formula: a CSV cell that starts with ``= + - @`` (or a
tab or carriage return) gets a leading apostrophe; XLSX cells are typed as plain strings,
so a customer named ``=HYPERLINK(...)`` cannot run anything in the reader's spreadsheet
(OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, send_file, stream_with_context

FORMATS = ("csv", "xlsx")
CSV_CHUNK_ROWS = 500
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Column = tuple[str, str]  # (the row's key, the header shown)
# An export view's 200 in the OpenAPI document: a file (`@blp.alt_response(200, **FILE_RESPONSE)`).
FILE_RESPONSE = {"success": True, "content_type": XLSX_MIMETYPE, "schema": {"type": "string", "format": "binary"}}


def export_response(fmt: str, filename: str, columns: Sequence[Column], rows: Iterable[Any],
                    *, sheet: str = "Sheet1") -> Response:
    """``rows``: mappings (read by the columns' keys) or sequences (in the columns' order).
    ``filename`` without its extension; Chinese is fine (RFC 5987)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    headers = {"Content-Disposition": _disposition(f"{filename}.{fmt}"), "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    if fmt == "csv":
        return Response(stream_with_context(_csv_chunks(columns, rows)), headers=headers,
                        mimetype="text/csv", content_type="text/csv; charset=utf-8")
    path = _xlsx_file(columns, rows, sheet)
    try:
        handle = open(path, "rb")  # noqa: SIM115  (send_file closes it)
    finally:
        os.unlink(path)  # gone from the directory at once; readable through the open handle
    response = send_file(handle, mimetype=XLSX_MIMETYPE, max_age=0)
    response.headers.update(headers)
    return response


def _values(columns: Sequence[Column], row: Any) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(key) for key, _ in columns]
    return list(row)


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers and datetimes stay typed, None is empty, the rest text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | datetime | date):
        return value
    return str(value)


def _csv_text(value: Any) -> str:
    value = _cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def _csv_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([label for _, label in columns])
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_text(v) for v in _values(columns, row)])
        if n % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_file(columns: Sequence[Column], rows: Iterable[Any], sheet: str) -> str:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    worksheet.append([label for _, label in columns])

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            value = _cell(value)
            if isinstance(value, str):
                # typed as a plain string: openpyxl would take a leading "=" for a formula
                cell = WriteOnlyCell(worksheet, value=None)
                cell.value, cell.data_type = value, "s"
                out.append(cell)
            else:
                out.append(value)
        return out

    for row in rows:
        worksheet.append(cells(_values(columns, row)))
    handle, path = tempfile.mkstemp(prefix="scrm-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
