"""Drill-down: the customers behind a figure of the follow-up report, for members the viewer
sees. Flows (new, lost, handed over) are the relations whose event falls in the range; stocks
(customers owned, next follow-ups overdue) those open at the end of the range's last day (or now,
when that is still to come). These read the source rows of the members asked about through their
indexes, bounded by the figure; only the report itself reads the aggregates."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, or_, select

from scrm.clock import utcnow
from scrm.models import Customer, FollowRelation
from scrm.models.reports import DRILL_FIGURES
from scrm.services.group_stats.aggregate import local_midnight
from scrm.services.reports import staff_day

ENDED_FIGURES = {column: status for status, column in staff_day.ENDED.items()}
FIGURES = DRILL_FIGURES


def _customer(query: Select, corp_id: str, external_userid) -> Select:
    return query.outerjoin(Customer, and_(Customer.corp_id == corp_id, Customer.external_userid == external_userid))


def customers_behind(corp_id: str, figure: str, first: date, last: date, userids: list[str] | None,
                     now: datetime | None = None) -> Select:
    """An ordered query of (userid, external_userid, name, at) for ``figure``; ``userids`` None: all
    members. ValueError for a figure with no drill-down."""
    if figure not in FIGURES:
        raise ValueError(f"no drill-down for {figure!r}")
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    at_end = min(end, now or utcnow())
    if figure == "next_overdue":
        iv = staff_day._overdue_intervals(corp_id)
        where = [iv.c.start < at_end, or_(iv.c.stop.is_(None), iv.c.stop >= at_end)]
        if userids is not None:
            where.append(iv.c.userid.in_(userids))
        query = select(iv.c.userid, iv.c.external_userid, Customer.name, iv.c.start.label("at"), iv.c.id)
        return (_customer(query.select_from(iv), corp_id, iv.c.external_userid).where(*where)
                .order_by(iv.c.start.desc(), iv.c.id.desc()))
    fr = FollowRelation
    where = [fr.corp_id == corp_id]
    if userids is not None:
        where.append(fr.userid.in_(userids))
    if figure == "customers":
        at = staff_day._relation_start(fr)
        ended = staff_day._relation_end(fr)
        where += [at < at_end, or_(ended.is_(None), ended >= at_end)]
    elif figure == "new_customers":
        at = staff_day._relation_start(fr)
        where += [at >= start, at < end]
    else:
        at = staff_day._relation_end(fr)
        where += [fr.status == ENDED_FIGURES[figure], at >= start, at < end]
    query = select(fr.userid, fr.external_userid, Customer.name, at.label("at"), fr.id)
    return (_customer(query.select_from(fr), corp_id, fr.external_userid).where(*where)
            .order_by(at.desc(), fr.id.desc()))
