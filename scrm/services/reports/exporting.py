"""The follow-up report and its drill-down as spreadsheet tables (scrm/api/exports.py writes
them): the columns in Chinese (labels.py), the rows, and the audit row saying who exported what.
A drill-down's rows are read from the database while they are written out (yield_per), never
all held at once; times are corp-local."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Staff
from scrm.services import access, localtime
from scrm.services.reports import drill, follow_up, groups
from scrm.services.reports.labels import FOLLOW_UP_FIGURES, GROUP_REPORT_FIGURES, GROUP_SOP_COLUMNS

Table = tuple[list[tuple[str, str]], Any, str]  # (columns, rows, title)


def _audited(corp_id: str, actor: str, what: str, first: date, last: date) -> None:
    access.audit(corp_id, actor, "api_export_report", "report", what,
                 detail={"from": first.isoformat(), "to": last.isoformat()})
    db.session.commit()


def follow_up_table(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None,
                    department_id: int | None, userid: str | None, per: str, actor: str) -> Table:
    """One row per member (``per`` "staff") or main department, and a total row."""
    report = follow_up.report(corp_id, first, last, visible=visible, department_id=department_id, userid=userid)
    figures = list(FOLLOW_UP_FIGURES.items())
    if per == "departments":
        columns = [("department_name", "部门"), ("members", "成员数"), *figures]
        rows = report["departments"]
    else:
        columns = [("name", "成员"), ("userid", "成员账号"), ("department_name", "部门"), *figures]
        rows = report["staff"]
    _audited(corp_id, actor, f"follow-up/{per}", first, last)
    return columns, [*rows, {**report["totals"], columns[0][0]: "合计"}], "跟进报表"


def drill_table(corp_id: str, figure: str, first: date, last: date, userids: list[str] | None, actor: str) -> Table:
    names = dict(db.session.execute(select(Staff.userid, Staff.name).where(Staff.corp_id == corp_id)).all())
    query = drill.customers_behind(corp_id, figure, first, last, userids)
    _audited(corp_id, actor, f"follow-up/{figure}", first, last)

    def rows() -> Iterator[tuple]:
        for row in db.session.execute(query.execution_options(yield_per=1000)):
            yield (names.get(row.userid) or row.userid, row.userid, row.name, row.external_userid,
                   localtime.to_local(row.at).replace(tzinfo=None) if row.at else None)

    columns = [("staff", "成员"), ("userid", "成员账号"), ("name", "客户"), ("external_userid", "客户ID"),
               ("at", "时间")]
    return columns, rows(), FOLLOW_UP_FIGURES.get(figure, figure)


def group_table(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None,
                department_id: int | None, userid: str | None, per: str, actor: str) -> Table:
    """The groups report: one row per owner (``per`` "owners") or SOP plan, and a total row."""
    report = groups.report(corp_id, first, last, visible=visible, department_id=department_id, userid=userid)
    if per == "plans":
        columns = [("name", "SOP计划"), *((n, GROUP_REPORT_FIGURES[n]) for n in GROUP_SOP_COLUMNS)]
        rows = report["plans"]
    else:
        columns = [("name", "群主"), ("userid", "群主账号"), ("department_name", "部门"),
                   *GROUP_REPORT_FIGURES.items()]
        rows = report["owners"]
    _audited(corp_id, actor, f"groups/{per}", first, last)
    return columns, [*rows, {**report["totals"], columns[0][0]: "合计"}], "客户群报表"
