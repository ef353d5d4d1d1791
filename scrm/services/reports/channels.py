"""The channel report (渠道报表): per channel code (and a row for the adds no code brought), for a
range of corp-local days, read from channel_daily_stat — the add cohorts of the range's days
(adds, welcome messages delivered, 7- and 30-day retention of the adds old enough, adds per
funnel stage their customer is in and those beyond the first stage), the losses of the range,
and the operator's cost (channel_costs) per add and per retained customer. The range's whole
calendar months are read from channel_month_stat (a year is about 12 rows per code, member and
stage instead of 365).

Ratios are computed from the sums. A retention rate counts only the eligible adds (7 / 30 days
old when computed); the cost per retained customer divides the cost by the adds times that rate
(the retained customers the range's adds are expected to give). A view narrowed by department,
member or data scope bears the channel's cost in proportion to its share of the channel's adds in
the range (the whole corp's adds per channel, one grouped query)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, union_all

from scrm.extensions import db
from scrm.models import Channel, ChannelDailyStat, ChannelMonthStat, FunnelStage
from scrm.models.channel_report import CHANNEL_FIGURES, NO_CHANNEL, NO_STAGE
from scrm.services.reports.channel_costs import cost_in_range
from scrm.services.reports.channel_day import months_of
from scrm.services.reports.scope import members_filter


def _rows(corp_id: str, first: date, last: date):
    """The rows covering first..last: its whole calendar months from channel_month_stat, the days
    before and after them from channel_daily_stat."""
    d, m = ChannelDailyStat, ChannelMonthStat

    def columns(t):
        return (t.channel_id, t.stage_id, t.userid, t.department_id, *(getattr(t, n) for n in CHANNEL_FIGURES))

    whole = [(a, b) for a, b in months_of(first, last) if a >= first and b <= last]
    if not whole:
        return select(*columns(d)).where(d.corp_id == corp_id, d.day.between(first, last)).subquery("range_rows")
    parts = [select(*columns(m)).where(m.corp_id == corp_id, m.month.between(whole[0][0], whole[-1][0]))]
    if first < whole[0][0]:
        parts.append(select(*columns(d)).where(d.corp_id == corp_id,
                                               d.day.between(first, whole[0][0] - timedelta(days=1))))
    if last > whole[-1][1]:
        parts.append(select(*columns(d)).where(d.corp_id == corp_id,
                                               d.day.between(whole[-1][1] + timedelta(days=1), last)))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("range_rows")


def _read(corp_id: str, rows, where: list) -> tuple[dict, dict, dict]:
    """One pass over the range's rows, grouped by (channel_id, stage_id): the view's figures per
    code, its adds per code and stage, and — when the view is narrowed — the whole corp's adds per
    code (for the cost share), the view's conditions as CASE filters rather than WHERE."""
    s = rows.c
    inside = and_(*where) if where else None

    def summed(column):
        return func.sum(column if inside is None else case((inside, column), else_=0))

    query = (select(s.channel_id, s.stage_id, func.sum(s.adds).label("corp_adds"),
                    *(summed(s[n]).label(n) for n in CHANNEL_FIGURES))
             .group_by(s.channel_id, s.stage_id))
    sums: dict[int, dict] = {}
    stages: dict[int, dict[str, int]] = {}
    corp_adds: dict[int, int] = {}
    for row in db.session.execute(query):
        corp_adds[row.channel_id] = corp_adds.get(row.channel_id, 0) + int(row.corp_adds or 0)
        figures = {n: int(getattr(row, n) or 0) for n in CHANNEL_FIGURES}
        if not any(figures.values()):
            continue  # nothing of the view
        into = sums.setdefault(row.channel_id, dict.fromkeys(CHANNEL_FIGURES, 0))
        for n in CHANNEL_FIGURES:
            into[n] += figures[n]
        if row.stage_id != NO_STAGE and figures["adds"]:
            stages.setdefault(row.channel_id, {})[str(row.stage_id)] = figures["adds"]
    return sums, stages, corp_adds


def _stages(corp_id: str, counted: set[str]) -> list[dict]:
    """The funnel's stages in order: the live ones, and deleted ones some add of the range is in."""
    f = FunnelStage
    rows = db.session.execute(select(f.id, f.name, f.deleted).where(f.corp_id == corp_id).order_by(f.order, f.id))
    return [{"id": r.id, "name": r.name, "deleted": r.deleted} for r in rows if not r.deleted or str(r.id) in counted]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _finish(row: dict, cost: int | None) -> dict:
    adds = row["adds"]
    row["welcome_rate"] = _percent(row["welcomed"], adds)
    row["staged_rate"] = _percent(row["staged"], adds)
    row["cost_fen"] = cost
    row["cost_per_add_fen"] = round(cost / adds) if cost is not None and adds else None
    for n in (7, 30):
        eligible, retained = row[f"eligible_{n}"], row[f"retained_{n}"]
        row[f"retention_{n}"] = _percent(retained, eligible)
        expected = adds * retained / eligible if eligible else 0
        row[f"cost_per_retained_{n}_fen"] = round(cost / expected) if cost is not None and expected else None
    return row


def report(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None = None,
           department_id: int | None = None, userid: str | None = None) -> dict[str, Any]:
    """The report for local days first..last over the members in ``visible`` (None: all)."""
    rows_in_range = _rows(corp_id, first, last)
    where = members_filter(rows_in_range.c, corp_id, visible=visible, department_id=department_id, userid=userid)
    sums, staged, corp_adds = _read(corp_id, rows_in_range, where)
    costs = cost_in_range(corp_id, first, last)
    share = None
    if where and costs:
        share = {cid: (sums.get(cid, {}).get("adds", 0) / corp_adds[cid]) if corp_adds.get(cid) else 0.0
                 for cid in costs}
    codes = db.session.execute(select(Channel.id, Channel.name, Channel.state, Channel.status)
                               .where(Channel.corp_id == corp_id).order_by(Channel.id)).all()
    zero = dict.fromkeys(CHANNEL_FIGURES, 0)
    rows = []
    for code in codes:  # every live code (zeros included), and deleted ones with figures or a cost
        if code.status != "active" and code.id not in sums and code.id not in costs:
            continue
        if visible is not None and code.id not in sums:  # a restricted viewer: the codes of their members' adds
            continue
        cost = costs.get(code.id)
        if cost is not None and share is not None:
            cost = round(cost * share[code.id])
        rows.append(_finish({"channel_id": code.id, "name": code.name, "state": code.state, "status": code.status,
                             **(sums.get(code.id) or zero), "stages": staged.get(code.id, {})}, cost))
    rows.append(_finish({"channel_id": None, "name": None, "state": None, "status": None,
                         **(sums.get(NO_CHANNEL) or zero), "stages": staged.get(NO_CHANNEL, {})}, None))
    totals = _finish({n: sum(r[n] for r in rows) for n in CHANNEL_FIGURES}, None)
    totals["stages"] = {}
    for row in rows:
        for stage, adds in row["stages"].items():
            totals["stages"][stage] = totals["stages"].get(stage, 0) + adds
    costed = [r for r in rows if r["cost_fen"] is not None]
    if costed:  # the cost figures of the total: over the codes with a cost (not the others' adds)
        spent = _finish({n: sum(r[n] for r in costed) for n in CHANNEL_FIGURES}, sum(r["cost_fen"] for r in costed))
        totals.update({k: v for k, v in spent.items() if k.startswith("cost_")})
    return {"from_": first, "to": last, "stages": _stages(corp_id, set(totals["stages"])), "channels": rows,
            "totals": totals}
