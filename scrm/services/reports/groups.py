"""The groups report (客户群报表): per group owner and in total, for a range of corp-local days,
read from the daily aggregates only — group_owner_daily_rollup (issue #12's group_daily_stat:
members and joins / leaves by scene per group and day, summed per owner by
scrm/services/reports/group_owner_day.py), group_owner_daily_stat (WeCom's own figures per owner and day, China
Standard Time days matched by date) and group_sop_daily_stat (SOP executions by outcome per
plan and owner, scrm/services/reports/group_sop_day.py).

Flows are summed over the range in SQL; stocks (groups, members, customers, staff) are read from
the range's last day that has rows, and the growth is the members then less the members on the
day before the range. An owner's groups belong to the owner: the data scope, `department_id`
(the owner's current main department and those below it) and `userid` narrow the owners."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select

from scrm.extensions import db
from scrm.models import GroupOwnerDailyRollup, GroupOwnerDailyStat, GroupSop, GroupSopDailyStat, Staff
from scrm.models.group_report import GROUP_REPORT_SERIES as SERIES
from scrm.models.group_report import GROUP_SOP_FIGURES, OWNER_ROLLUP_STOCKS
from scrm.models.group_stats import GROUP_FLOWS, GROUP_STOCKS, OWNER_FIGURES, OWNER_STOCKS
from scrm.services.policy import departments
from scrm.services.reports.sql import sums_two_ways

STOCKS = ("groups", *GROUP_STOCKS, "members_start")
WECOM_FLOWS = tuple(n for n in OWNER_FIGURES if n not in OWNER_STOCKS)
FIGURES = (*STOCKS, "growth", *GROUP_FLOWS, *OWNER_FIGURES, *GROUP_SOP_FIGURES)


def owners_filter(corp_id: str, *, visible: frozenset[str] | None, department_id: int | None,
                  userid: str | None) -> list[str] | None:
    """The owners the report covers (None: all, no IN list)."""
    owners: set[str] | None = None if visible is None else set(visible)
    if department_id is not None:
        depts = departments.and_below(corp_id, [department_id])
        mains = set(db.session.scalars(select(Staff.userid).where(
            Staff.corp_id == corp_id, Staff.main_department.in_(sorted(depts)))))
        owners = mains if owners is None else owners & mains
    if userid is not None:
        owners = {userid} if owners is None else owners & {userid}
    return None if owners is None else sorted(owners)


def _where(model, corp_id: str, first: date, last: date, owners: list[str] | None) -> list:
    where = [model.corp_id == corp_id, model.day.between(first, last)]
    if owners is not None:
        where.append(model.owner.in_(owners))
    return where


def last_day(corp_id: str, first: date, last: date) -> date | None:
    """The range's last day with group rows: the stocks are read from it."""
    s = GroupOwnerDailyRollup
    return db.session.scalar(select(func.max(s.day)).where(s.corp_id == corp_id, s.day.between(first, last)))


def _int(value) -> int:
    return int(value or 0)


def _by_owner_and_day(model, where: list, columns: list) -> tuple[dict, dict]:
    """``columns`` summed per owner and per day in one pass (sql.sums_two_ways). Returns
    ({owner: row}, {day: row})."""
    per_owner, per_day = sums_two_ways(where, (model.owner,), (model.day,), columns)
    return {r.owner: r for r in per_owner}, {_as_date(r.day): r for r in per_day}


def _group_figures(corp_id: str, first: date, last: date, stock_day: date, owners) -> tuple[dict, dict]:
    """Per owner: stocks on stock_day, members the day before the range, flows; per day: members,
    customers, joins, leaves."""
    s = GroupOwnerDailyRollup
    before, on_last, in_range = first - timedelta(days=1), s.day == stock_day, s.day >= first
    columns = [*(func.sum(case((on_last, getattr(s, n)), else_=0)).label(n) for n in OWNER_ROLLUP_STOCKS),
               func.sum(case((s.day == before, s.members), else_=0)).label("members_start"),
               *(func.sum(case((in_range, getattr(s, n)), else_=0)).label(n) for n in GROUP_FLOWS),
               func.sum(s.members).label("day_members"), func.sum(s.customers).label("day_customers")]
    names = (*OWNER_ROLLUP_STOCKS, "members_start", *GROUP_FLOWS)
    per_owner, per_day = _by_owner_and_day(s, _where(s, corp_id, before, last, owners), columns)
    return ({o: {n: _int(getattr(r, n)) for n in names} for o, r in per_owner.items()},
            {d: {"members": _int(r.day_members), "customers": _int(r.day_customers), "joins": _int(r.joins),
                 "leaves": _int(r.leaves)} for d, r in per_day.items()})


def _wecom_figures(corp_id: str, first: date, last: date, owners) -> tuple[dict, dict]:
    """WeCom's figures per owner (chat_total / member_total from their last day) and messages per day."""
    s = GroupOwnerDailyStat
    where = _where(s, corp_id, first, last, owners)
    wecom_last = db.session.scalar(select(func.max(s.day)).where(*where))
    if wecom_last is None:
        return {}, {}
    columns = [*(func.sum(getattr(s, n)).label(n) for n in WECOM_FLOWS),
               *(func.sum(case((s.day == wecom_last, getattr(s, n)), else_=0)).label(n) for n in OWNER_STOCKS)]
    per_owner, per_day = _by_owner_and_day(s, where, columns)
    return ({o: {n: _int(getattr(r, n)) for n in (*WECOM_FLOWS, *OWNER_STOCKS)} for o, r in per_owner.items()},
            {d: {"msg_total": _int(r.msg_total)} for d, r in per_day.items()})


def _sop_figures(corp_id: str, first: date, last: date, owners) -> tuple[dict[str, dict], list[dict]]:
    """SOP figures per owner and per plan, from one pass grouped by both (owners × plans rows)."""
    s = GroupSopDailyStat
    query = (select(s.owner, s.plan_id, *(func.sum(getattr(s, n)).label(n) for n in GROUP_SOP_FIGURES))
             .where(*_where(s, corp_id, first, last, owners)).group_by(s.owner, s.plan_id))
    by_owner: dict[str, dict] = {}
    by_plan: dict[int, dict] = {}
    for row in db.session.execute(query):
        for into in (by_owner.setdefault(row.owner, dict.fromkeys(GROUP_SOP_FIGURES, 0)),
                     by_plan.setdefault(row.plan_id, {"plan_id": row.plan_id, **dict.fromkeys(GROUP_SOP_FIGURES, 0)})):
            for name in GROUP_SOP_FIGURES:
                into[name] += _int(getattr(row, name))
    return by_owner, [by_plan[plan_id] for plan_id in sorted(by_plan)]


def _series(corp_id: str, first: date, last: date, owners, days: tuple[dict, ...]) -> list[dict]:
    """One point per day of the range: members and customers at its end, joins, leaves, WeCom's
    messages, SOP executions sent (zeros where a day has no rows; members and customers null on
    days outside the corp's computed group days, e.g. today before its first run). ``days``: the
    per-day figures the owner passes already read."""
    g, p = GroupOwnerDailyRollup, GroupSopDailyStat
    computed = db.session.execute(select(func.min(g.day), func.max(g.day)).where(
        g.corp_id == corp_id, g.day.between(first, last))).one()
    low, high = (_as_date(d) for d in computed)
    sent = {_as_date(day): _int(value) for day, value in db.session.execute(
        select(p.day, func.sum(p.sent)).where(*_where(p, corp_id, first, last, owners)).group_by(p.day))}
    points = []
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        point = {"day": day, **dict.fromkeys(SERIES, 0), "sop_sent": sent.get(day, 0)}
        for figures in days:
            point.update(figures.get(day) or {})
        if low is None or not low <= day <= high:
            point.update(members=None, customers=None)
        points.append(point)
    return points


def _as_date(value) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))


def _blank() -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0)


def report(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None = None,
           department_id: int | None = None, userid: str | None = None) -> dict[str, Any]:
    """The report for local days first..last over the owners the filters leave."""
    owners = owners_filter(corp_id, visible=visible, department_id=department_id, userid=userid)
    empty = owners is not None and not owners
    stock_day = None if empty else last_day(corp_id, first, last)
    groups, group_days = _group_figures(corp_id, first, last, stock_day, owners) if stock_day else ({}, {})
    wecom, wecom_days = ({}, {}) if empty else _wecom_figures(corp_id, first, last, owners)
    sop_owners, plans = ({}, []) if empty else _sop_figures(corp_id, first, last, owners)
    rows: dict[str, dict] = {}
    for source in (groups, wecom, sop_owners):
        for owner, figures in source.items():
            rows.setdefault(owner, _blank()).update(figures)
    staff = {row.userid: row for row in db.session.execute(
        select(Staff.userid, Staff.name, Staff.main_department).where(
            Staff.corp_id == corp_id, Staff.userid.in_(sorted(rows))))} if rows else {}
    dept_names = departments.names(corp_id)
    totals = _blank()
    out = []
    for owner in sorted(rows):  # one per owner: already summed in SQL
        row = rows[owner]
        row["growth"] = row["members"] - row["members_start"]
        for name in FIGURES:
            totals[name] += row[name]
        known = staff.get(owner)
        dept = known.main_department if known else None
        out.append({"userid": owner, "name": known.name if known else None, "department_id": dept,
                    "department_name": dept_names.get(dept) if dept is not None else None, **row})
    plan_names = dict(db.session.execute(select(GroupSop.id, GroupSop.name).where(
        GroupSop.corp_id == corp_id, GroupSop.id.in_([p["plan_id"] for p in plans]))).all()) if plans else {}
    for plan in plans:
        plan["name"] = plan_names.get(plan["plan_id"])
    return {"from_": first, "to": last, "last_day": stock_day, "owners": out, "plans": plans,
            "totals": {**totals, "owners": len(out)},
            "series": [] if empty else _series(corp_id, first, last, owners, (group_days, wecom_days))}
