"""The churn and recall report (流失与召回报表): for a range of corp-local days, read from
churn_daily_stat, risk_daily_stat and recall_daily_stat only (sums in SQL, a few hundred rows
back at most).

* losses (by the member, by the customer, other) and risk-level moves (relations entering each
  level) summed over the range, per member, per channel code and per corp-local month;
* relations per risk level at the end of the range, per member (the rows of its last day that
  has rows);
* recalls per playbook: sent, confirmed, re-engaged, expired, and the recall rate
  (re-engaged / sent, by the day the recalls went out).

Filters and scope as the follow-up report: the viewer's members (None: all), a department and
those below it (members by the main department on the rows), one member."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all

from scrm.extensions import db
from scrm.models import Channel, ChurnDailyStat, ChurnMonthStat, RecallDailyStat, RecallPlaybook, RiskDailyStat, Staff
from scrm.models.churn_report import CHURN_FLOWS, CHURN_LOSSES, RECALL_FLOWS, RISK_STOCKS
from scrm.services.churn.queries import months
from scrm.services.policy import departments
from scrm.services.reports import staff_month
from scrm.services.reports.scope import members_filter
from scrm.services.reports.sql import sums_two_ways

FIGURES = (*CHURN_FLOWS, *RISK_STOCKS)


def last_day(corp_id: str, first: date, last: date) -> date | None:
    """The range's last day with stock rows (the risk levels are read from it)."""
    s = RiskDailyStat
    return db.session.scalar(select(func.max(s.day)).where(s.corp_id == corp_id, s.day.between(first, last)))


def _finish(row: dict, names: tuple = FIGURES) -> dict:
    out = {**row, **{k: int(row.get(k) or 0) for k in names}}
    out["lost"] = sum(out[n] for n in CHURN_LOSSES)
    if "risk_lost" in names:
        out["at_risk"] = out["risk_cooling"] + out["risk_dormant"] + out["risk_lost"]
    return out


def _recall_rows(corp_id: str, first: date, last: date, where: list) -> list[dict]:
    r, p = RecallDailyStat, RecallPlaybook
    query = (select(r.playbook_id, p.name, p.trigger, *(func.sum(getattr(r, n)).label(n) for n in RECALL_FLOWS))
             .select_from(r).outerjoin(p, p.id == r.playbook_id)
             .where(r.corp_id == corp_id, r.day.between(first, last), *where)
             .group_by(r.playbook_id, p.name, p.trigger).order_by(r.playbook_id))
    return [recall_rate(dict(row._mapping)) for row in db.session.execute(query)]


def recall_rate(row: dict) -> dict:
    out = {**row, **{n: int(row.get(n) or 0) for n in RECALL_FLOWS}}
    out["rate"] = round(out["re_engaged"] / out["sent"], 4) if out["sent"] else None
    return out


def _flow_rows(corp_id: str, first: date, last: date, filters: dict):
    """The range's flow rows: its whole calendar months from churn_month_stat, the days before and
    after them from churn_daily_stat (one UNION ALL)."""
    d, m = ChurnDailyStat, ChurnMonthStat
    columns = ("month", "userid", "state", "department_id", *CHURN_FLOWS)
    whole = staff_month.whole_months(first, last)
    edge = d.day.between(first, last)
    if whole:
        edge = and_(edge, or_(d.day < whole[0], d.day > staff_month.month_end(whole[1])))
    parts = [select(*(getattr(d, n) for n in columns))
             .where(d.corp_id == corp_id, edge, *members_filter(d, corp_id, **filters))]
    if whole:
        parts.append(select(*(getattr(m, n) for n in columns))
                     .where(m.corp_id == corp_id, m.month.between(*whole), *members_filter(m, corp_id, **filters)))
    return (union_all(*parts) if whole else parts[0]).subquery("flows")


def _per_member_month_and_channel(c) -> tuple[dict, dict, list[dict]]:
    """One pass over the range's flow rows ``c`` (sql.sums_two_ways) grouped by member and month
    (at most members × 13 rows back), folded into the sums per member and per month, and grouped
    by channel code."""
    sums = [*(func.sum(c.c[n]).label(n) for n in CHURN_FLOWS)]
    by_member_month, by_channel = sums_two_ways(
        [], (c.c.userid, c.c.month), (c.c.state,), [func.max(c.c.department_id).label("department_id"), *sums])
    members: dict[str, dict] = {}
    per_month: dict[str, dict] = {}
    for row in by_member_month:
        into = members.setdefault(row.userid, {"userid": row.userid, "department_id": row.department_id})
        into["department_id"] = into["department_id"] or row.department_id
        by_month = per_month.setdefault(str(row.month)[:7], {})  # YYYY-MM
        for name in CHURN_FLOWS:
            into[name] = into.get(name, 0) + int(getattr(row, name) or 0)
            by_month[name] = by_month.get(name, 0) + int(getattr(row, name) or 0)
    channels = sorted(({"state": row.state, **{n: int(getattr(row, n) or 0) for n in CHURN_FLOWS}}
                       for row in by_channel), key=lambda row: row["state"])
    return members, per_month, channels


def _stocks(corp_id: str, stock_day: date | None, filters: dict, into: dict[str, dict]) -> None:
    """The stocks of ``stock_day`` per member, merged into the members' rows."""
    if stock_day is None:
        return
    k = RiskDailyStat
    for row in db.session.execute(select(k.userid, k.department_id, *(getattr(k, n) for n in RISK_STOCKS))
                                  .where(k.corp_id == corp_id, k.day == stock_day,
                                         *members_filter(k, corp_id, **filters))):
        into.setdefault(row.userid, {"userid": row.userid}).update(row._mapping)


def report(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None = None,
           department_id: int | None = None, userid: str | None = None) -> dict[str, Any]:
    stock_day = last_day(corp_id, first, last)
    filters = {"visible": visible, "department_id": department_id, "userid": userid}
    members, month_rows, channel_rows = _per_member_month_and_channel(_flow_rows(corp_id, first, last, filters))
    _stocks(corp_id, stock_day, filters, members)
    staff_rows = [members[key] for key in sorted(members)]
    names = dict(db.session.execute(select(Staff.userid, Staff.name).where(Staff.corp_id == corp_id)).all()) \
        if staff_rows else {}
    dept_names = departments.names(corp_id) if staff_rows else {}
    channel_names = dict(db.session.execute(select(Channel.state, Channel.name).where(
        Channel.corp_id == corp_id).order_by(Channel.id)).all()) if channel_rows else {}
    staff = [_finish({**row, "name": names.get(row["userid"]), "department_name": dept_names.get(row["department_id"])})
             for row in staff_rows]
    totals = _finish({n: sum(row[n] for row in staff) for n in FIGURES})
    series = [_finish({**month_rows.get(start.strftime("%Y-%m"), {}), "month": start.strftime("%Y-%m")}, CHURN_FLOWS)
              for start, _end in months(first, last)]
    recalls = _recall_rows(corp_id, first, last, members_filter(RecallDailyStat, corp_id, **filters))
    return {
        "from_": first, "to": last, "last_day": stock_day, "staff": staff,
        "channels": [_finish({**row, "channel_name": channel_names.get(row["state"]) if row["state"] else None},
                             CHURN_FLOWS) for row in channel_rows],
        "months": series, "totals": {**totals, "members": len(staff)},
        "playbooks": recalls, "recall_totals": recall_rate({n: sum(row[n] for row in recalls) for n in RECALL_FLOWS}),
    }
