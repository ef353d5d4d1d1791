"""The funnel report (销售漏斗): relations per funnel stage for a range of corp-local days, read
from stage_daily_stat (stage_day.py) — stocks from the range's last aggregated day, entries as the
difference of the running total `entered_total` between the range's ends (two days' rows, not a
sum over every day; the whole corp's figures and chart from stage_daily_total) — per stage, per
member and per channel code, with a time series of the stocks.

Conversion from a stage to the next (in the corp's stage order) is flow-based: the entries into
the next stage divided by the entries into this one during the range. It needs nothing but the
daily sums; it can pass 100 % when customers skip a stage or entered the earlier stage before the
range (documented in docs/reports.md)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select

from scrm.extensions import db
from scrm.models import Channel, FunnelStage, Staff, StaffDailyStat, StageDailyStat, StageDailyTotal
from scrm.services.policy import departments
from scrm.services.reports.follow_up import last_day
from scrm.services.reports.scope import members_filter

DAILY_MAX_DAYS = 62  # longer ranges get a point per week (the stocks at each week's last day)


def stages(corp_id: str) -> list[dict]:
    rows = db.session.execute(select(FunnelStage.id, FunnelStage.name).where(
        FunnelStage.corp_id == corp_id, FunnelStage.deleted.is_(False)).order_by(FunnelStage.order, FunnelStage.id))
    return [{"stage_id": r.id, "name": r.name} for r in rows]


def _where(corp_id: str, *, visible, department_id, userid, channel) -> list:
    s = StageDailyStat
    where = [s.corp_id == corp_id, *members_filter(s, corp_id, visible=visible, department_id=department_id,
                                                   userid=userid)]
    if channel is not None:
        where.append(s.state == channel)
    return where


def _grouped(column, first_day: date, stock_day: date, where: list) -> dict:
    """{key: {stage_id: (customers at stock_day, entries first_day..stock_day)}} grouped by
    ``column``, from two days' rows: the entries are the running total at the end of stock_day
    less the one before first_day."""
    s = StageDailyStat
    before = func.sum(case((s.day == first_day, s.entered_total - s.entered), else_=0))
    query = (select(column.label("key"), s.stage_id,
                    func.sum(case((s.day == stock_day, s.customers), else_=0)).label("customers"),
                    (func.sum(case((s.day == stock_day, s.entered_total), else_=0)) - before).label("entered"))
             .where(*where, s.day.in_(sorted({first_day, stock_day}))).group_by(column, s.stage_id))
    out: dict = {}
    for row in db.session.execute(query):
        out.setdefault(row.key, {})[row.stage_id] = (int(row.customers or 0), int(row.entered or 0))
    return out


def _corp_totals(corp_id: str, first_day: date, stock_day: date) -> dict[int, tuple[int, int]]:
    t = StageDailyTotal
    query = (select(t.stage_id, func.sum(case((t.day == stock_day, t.customers), else_=0)).label("customers"),
                    func.sum(t.entered).label("entered"))
             .where(t.corp_id == corp_id, t.day.between(first_day, stock_day)).group_by(t.stage_id))
    return {r.stage_id: (int(r.customers or 0), int(r.entered or 0)) for r in db.session.execute(query)}


def first_day(corp_id: str, first: date, last: date) -> date | None:
    """The range's first aggregated day: entries are counted from it."""
    s = StaffDailyStat
    return db.session.scalar(select(func.min(s.day)).where(s.corp_id == corp_id, s.day.between(first, last)))


def series_days(first: date, stock_day: date | None) -> list[date]:
    """The days the chart shows: each day up to DAILY_MAX_DAYS, else each week's last day counted
    back from the last aggregated day."""
    if stock_day is None or stock_day < first:
        return []
    span = (stock_day - first).days + 1
    step = 1 if span <= DAILY_MAX_DAYS else 7
    return sorted(stock_day - timedelta(days=n) for n in range(0, span, step))


def _series(corp_id: str, days: list[date], stage_ids: list[int], where: list | None) -> list[dict]:
    """The stocks per stage on ``days``: from stage_daily_total for the whole corp (``where`` None)."""
    found = {}
    if days:
        s = StageDailyTotal if where is None else StageDailyStat
        conditions = [s.corp_id == corp_id] if where is None else where
        query = (select(s.day, s.stage_id, func.sum(s.customers).label("customers"))
                 .where(*conditions, s.day.in_(days)).group_by(s.day, s.stage_id))
        found = {(r.day, r.stage_id): int(r.customers or 0) for r in db.session.execute(query)}
    return [{"day": day, "customers": [found.get((day, sid), 0) for sid in stage_ids]} for day in days]


def _cells(figures: dict, stage_ids: list[int]) -> tuple[list[dict], int]:
    cells = [{"stage_id": sid, "customers": figures.get(sid, (0, 0))[0], "entered": figures.get(sid, (0, 0))[1]}
             for sid in stage_ids]
    return cells, sum(c["customers"] for c in cells)


def _with_conversion(cells: list[dict]) -> list[dict]:
    for here, following in zip(cells, [*cells[1:], None], strict=True):
        here["conversion"] = (round(following["entered"] / here["entered"], 4)
                              if following is not None and here["entered"] else None)
    return cells


def report(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None = None,
           department_id: int | None = None, userid: str | None = None, channel: str | None = None) -> dict[str, Any]:
    funnel = stages(corp_id)
    stage_ids = [st["stage_id"] for st in funnel]
    stock_day = last_day(corp_id, first, last)
    start_day = first_day(corp_id, first, last) if stock_day else None
    where = _where(corp_id, visible=visible, department_id=department_id, userid=userid, channel=channel)
    whole_corp = len(where) == 1  # no scope or filter: the corp's totals are read as they are
    s = StageDailyStat
    members = _grouped(s.userid, start_day, stock_day, where) if stock_day and stage_ids else {}
    channels = _grouped(s.state, start_day, stock_day, where) if members else {}
    totals: dict[int, tuple[int, int]] = {}
    if whole_corp and members:
        totals = _corp_totals(corp_id, start_day, stock_day)
    else:
        for figures in members.values():
            for sid, (customers, entered) in figures.items():
                had = totals.get(sid, (0, 0))
                totals[sid] = (had[0] + customers, had[1] + entered)
    people = {r.userid: r for r in db.session.execute(select(Staff.userid, Staff.name, Staff.main_department).where(
        Staff.corp_id == corp_id, Staff.userid.in_(sorted(members))))} if members else {}
    dept_names = departments.names(corp_id) if members else {}
    channel_names = {}
    if channels:
        channel_names = dict(db.session.execute(select(Channel.state, Channel.name).where(
            Channel.corp_id == corp_id, Channel.state.in_(sorted(channels))).order_by(Channel.id)).all())
    staff_rows = []
    for uid in sorted(members):
        cells, total = _cells(members[uid], stage_ids)
        person = people.get(uid)
        dept = person.main_department if person else None
        staff_rows.append({"userid": uid, "name": person.name if person else None, "department_id": dept,
                           "department_name": dept_names.get(dept), "customers": total, "stages": cells})
    channel_rows = []
    for state in sorted(channels):
        cells, total = _cells(channels[state], stage_ids)
        channel_rows.append({"channel": state, "name": channel_names.get(state, state) if state else "无渠道",
                             "customers": total, "stages": cells})
    stage_rows, total = _cells(totals, stage_ids)
    stage_rows = _with_conversion([{**st, **cell} for st, cell in zip(funnel, stage_rows, strict=True)])
    days = series_days(first, stock_day) if stage_ids else []
    return {"from_": first, "to": last, "last_day": stock_day,
            "granularity": "week" if len(days) > 1 and (days[1] - days[0]).days == 7 else "day",
            "stages": stage_rows, "customers": total,
            "series": _series(corp_id, days, stage_ids, None if whole_corp else where),
            "staff": staff_rows, "channels": channel_rows}
