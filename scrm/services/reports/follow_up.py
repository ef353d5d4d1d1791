"""The follow-up report (跟进报表): per staff member, per department and in total, for a range of
corp-local days, read from staff_daily_stat (flows summed, stocks from the range's last day with
rows) and WeCom's behaviour figures (staff_behavior_day, already one row per member and day).

A department row adds up the members whose main department it was when the rows were computed
(not the departments below it; filter with `department_id` for a subtree). Ratios are computed
from the sums, never averaged: the first-reply average from the seconds and the count, WeCom's
reply rate and reply time weighted by each day's chats."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, null, or_, select, union_all

from scrm.extensions import db
from scrm.models import Staff, StaffBehaviorDay, StaffDailyStat, StaffMonthlyStat
from scrm.models.reports import STAFF_FLOWS, STAFF_STOCKS
from scrm.services.policy import departments
from scrm.services.reports import staff_month
from scrm.services.reports.scope import members_filter

LOSSES = ("lost_by_staff", "lost_by_customer", "lost_other")
BEHAVIOUR = ("chats", "messages", "_reply_weight", "_reply_sum", "_time_weight", "_time_sum")
ADDED = (*STAFF_FLOWS, *STAFF_STOCKS, *BEHAVIOUR)  # what a department row and the totals add up
COUNTS = frozenset((*STAFF_FLOWS, *STAFF_STOCKS, "chats", "messages"))


def last_day(corp_id: str, first: date, last: date) -> date | None:
    """The range's last day that has rows: the stocks are read from it."""
    s = StaffDailyStat
    return db.session.scalar(select(func.max(s.day)).where(s.corp_id == corp_id, s.day.between(first, last)))


def _staff_sums(corp_id: str, first: date, last: date, stock_day: date, filters: dict) -> list[dict]:
    """Per member: flows over the range (whole months from the monthly roll-up, the edge days
    from the daily rows), stocks and main department from the row of ``stock_day``."""
    s, m = StaffDailyStat, StaffMonthlyStat
    whole = staff_month.whole_months(first, last)
    edge = s.day.between(first, last)
    if whole:
        edge = and_(edge, or_(s.day < whole[0], s.day > staff_month.month_end(whole[1])))
    on_last = s.day == stock_day
    parts = [select(s.userid, case((on_last, s.department_id)).label("department_id"),
                    *(case((edge, getattr(s, n)), else_=0).label(n) for n in STAFF_FLOWS),
                    *(case((on_last, getattr(s, n)), else_=0).label(n) for n in STAFF_STOCKS))
             .where(s.corp_id == corp_id, or_(edge, on_last), *members_filter(s, corp_id, **filters))]
    if whole:
        parts.append(select(m.userid, null().label("department_id"), *(getattr(m, n) for n in STAFF_FLOWS),
                            *(literal(0).label(n) for n in STAFF_STOCKS))
                     .where(m.corp_id == corp_id, m.month.between(*whole),
                            *members_filter(m, corp_id, **filters)))
    rows = union_all(*parts).subquery("rows") if whole else parts[0].subquery("rows")
    query = (select(rows.c.userid, func.max(rows.c.department_id).label("department_id"),
                    *(func.sum(rows.c[n]).label(n) for n in (*STAFF_FLOWS, *STAFF_STOCKS)))
             .group_by(rows.c.userid).order_by(rows.c.userid))
    return [dict(row._mapping) for row in db.session.execute(query)]


def _behaviour(corp_id: str, first: date, last: date, userids: list[str] | None) -> dict[str, dict]:
    """WeCom's figures per member (``userids`` None: every member, no IN list)."""
    b = StaffBehaviorDay
    rated = b.reply_percentage.is_not(None)
    timed = b.avg_reply_time.is_not(None)
    query = (select(b.userid, func.sum(b.chat_cnt).label("chats"), func.sum(b.message_cnt).label("messages"),
                    func.sum(case((rated, b.chat_cnt), else_=0)).label("_reply_weight"),
                    func.sum(case((rated, b.reply_percentage * b.chat_cnt), else_=0)).label("_reply_sum"),
                    func.sum(case((timed, b.chat_cnt), else_=0)).label("_time_weight"),
                    func.sum(case((timed, b.avg_reply_time * b.chat_cnt), else_=0)).label("_time_sum"))
             .where(b.corp_id == corp_id, b.day.between(first, last))
             .group_by(b.userid))
    if userids is not None:
        query = query.where(b.userid.in_(userids))
    return {row.userid: dict(row._mapping) for row in db.session.execute(query)}


def _finish(row: dict) -> dict:
    """Derived figures from the sums (as plain ints and floats: sums of big integers come back as
    Decimal from PostgreSQL); the weights dropped."""
    out = {k: (int(v or 0) if k in COUNTS else v) for k, v in row.items() if k[0] != "_"}
    out["lost"] = sum(out[n] for n in LOSSES)
    replies = out["first_replies"]
    out["first_reply_avg_seconds"] = round(out["first_reply_seconds"] / replies) if replies else None
    weight, time_weight = row.get("_reply_weight") or 0, row.get("_time_weight") or 0
    out["reply_rate"] = round(row["_reply_sum"] / weight, 2) if weight else None
    out["avg_reply_minutes"] = round(row["_time_sum"] / time_weight, 2) if time_weight else None
    return out


def _add(into: dict, row: dict) -> None:
    for name in ADDED:
        into[name] = (into.get(name) or 0) + (row.get(name) or 0)


def report(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None = None,
           department_id: int | None = None, userid: str | None = None) -> dict[str, Any]:
    """The report for local days first..last over the members in ``visible`` (None: all)."""
    stock_day = last_day(corp_id, first, last)
    filters = {"visible": visible, "department_id": department_id, "userid": userid}
    scoped = any(value is not None for value in filters.values())
    staff_rows = _staff_sums(corp_id, first, last, stock_day, filters) if stock_day else []
    userids = [r["userid"] for r in staff_rows] if scoped else None  # None: the whole corp, no IN list
    behaviour = _behaviour(corp_id, first, last, userids) if staff_rows else {}
    names_query = select(Staff.userid, Staff.name).where(Staff.corp_id == corp_id)
    if userids is not None:
        names_query = names_query.where(Staff.userid.in_(userids))
    names = dict(db.session.execute(names_query).all()) if staff_rows else {}
    dept_names = departments.names(corp_id)
    by_dept: dict[int | None, dict] = {}
    totals: dict = {}
    members = []
    for row in staff_rows:  # one per staff member: already aggregated in SQL
        row.update(behaviour.get(row["userid"]) or {name: 0 for name in BEHAVIOUR})
        _add(by_dept.setdefault(row["department_id"], {"department_id": row["department_id"], "members": 0}), row)
        by_dept[row["department_id"]]["members"] += 1
        members.append(_finish({**row, "name": names.get(row["userid"]),
                                "department_name": dept_names.get(row["department_id"])}))
    for dept in by_dept.values():  # the totals from the few department sums, not every member again
        _add(totals, dept)
    dept_rows = [_finish({**dept, "department_name": dept_names.get(dept["department_id"])})
                 for _, dept in sorted(by_dept.items(), key=lambda item: (item[0] is None, item[0] or 0))]
    empty = {name: 0 for name in (*STAFF_FLOWS, *STAFF_STOCKS, *BEHAVIOUR)}
    return {"from_": first, "to": last, "last_day": stock_day, "staff": members, "departments": dept_rows,
            "totals": _finish({**empty, **totals, "members": len(members)})}


def drill_members(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None,
                  department_id: int | None, userid: str | None) -> list[str] | None:
    """The members a drill-down reads (None: all): as the report's filters, a department's
    members being those the range's rows put in it."""
    if department_id is None:
        if userid is not None:
            return [userid] if visible is None or userid in visible else []
        return None if visible is None else sorted(visible)
    s = StaffDailyStat
    where = members_filter(s, corp_id, visible=visible, department_id=department_id, userid=userid)
    return list(db.session.scalars(select(s.userid).where(s.corp_id == corp_id, s.day.between(first, last), *where)
                                   .distinct().order_by(s.userid)))
