"""The monthly roll-up of the follow-up report's flows (staff_monthly_stat), in set-based SQL.

A 365-day report would otherwise add up 365 daily rows per member; with the roll-up it reads the
whole months of its range here and only the days at its edges from staff_daily_stat
(follow_up.py). Built after staff_day for every month the rebuilt days touch: one INSERT … SELECT
grouping that month's daily rows per member and main department (a member who moved department
in a month has a row per department, so a department filter matches the daily rows exactly).
Stocks are not rolled up: a report reads them from the daily row of its last day."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, String, and_, delete, func, insert, literal, select, union_all

from scrm.extensions import db
from scrm.models import StaffDailyStat, StaffMonthlyStat
from scrm.models.reports import STAFF_FLOWS


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (month_start(day) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def months(first: date, last: date) -> list[date]:
    """The first days of the months first..last touch."""
    out, month = [], month_start(first)
    while month <= last:
        out.append(month)
        month = month_end(month) + timedelta(days=1)
    return out


def whole_months(first: date, last: date) -> tuple[date, date] | None:
    """The first day of the first and of the last whole month inside first..last (None: none)."""
    start = first if first.day == 1 else month_end(first) + timedelta(days=1)
    end_month = month_start(last) if last == month_end(last) else month_start(month_start(last) - timedelta(days=1))
    return (start, end_month) if start <= end_month else None


def _month_table(firsts: list[date]):
    rows = [select(literal(m, Date).label("month"), literal(month_end(m), Date).label("last_day")) for m in firsts]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("months")


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the months that local days first..last touch from their daily rows (delete, then
    insert … select; idempotent). Returns the rows written; the caller commits."""
    del incremental  # the daily rows are the source either way
    firsts = months(first, last)
    m, s = StaffMonthlyStat, StaffDailyStat
    db.session.execute(delete(m).where(m.corp_id == corp_id, m.month.between(firsts[0], firsts[-1])),
                       execution_options={"synchronize_session": False})
    table = _month_table(firsts)
    query = (select(literal(corp_id, String).label("corp_id"), table.c.month, s.userid, s.department_id,
                    func.count().label("days"), *(func.sum(getattr(s, name)).label(name) for name in STAFF_FLOWS))
             .select_from(table).join(s, and_(s.day >= table.c.month, s.day <= table.c.last_day))
             .where(s.corp_id == corp_id)
             .group_by(table.c.month, s.userid, s.department_id))
    columns = ["corp_id", "month", "userid", "department_id", "days", *STAFF_FLOWS]
    db.session.execute(insert(m).from_select(columns, query))
    return db.session.scalar(select(func.count()).select_from(m).where(
        m.corp_id == corp_id, m.month.between(firsts[0], firsts[-1]))) or 0
