"""The recall part of the churn report (recall_daily_stat), in set-based SQL.

Per corp-local day, recall playbook and member, by the day each recall went out (`sent_at`, the
recalls that went out: awaiting the member's mass send, or sent — as the playbook's own figures,
scrm/services/recall/queries.py, count them): sent; confirmed (WeCom reported the mass send
sent, or the member sent it from the sidebar — as staff_daily_stat's recall_confirmed);
re-engaged (outcome won: a reply, a follow-up or a re-add within the window,
scrm/services/recall/outcomes.py) and expired (outcome lost: the window passed without one).
The recall rate of a range is re-engaged / sent, the project's own definition.

An outcome is settled up to SCRM_RECALL_WINDOW_DAYS after the send, so every build also rewrites
the days of that window before its range (flows only, no stocks: one grouped pass over the
recalls sent in the days, one INSERT … SELECT per chunk)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import DateTime, String, and_, case, delete, func, insert, literal, select

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import Recall, RecallDailyStat, RecallOutcome, Staff
from scrm.models.churn_report import RECALL_FLOWS
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight, local_today
from scrm.services.recall.outcomes import WENT_OUT
from scrm.services.reports.staff_day import _confirmed_at

CHUNK_DAYS = 31


def _insert(corp_id: str, first: date, last: date):
    r = Recall
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    days = _day_table([(first + timedelta(days=i),) * 2 for i in range((last - first).days + 1)])

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    s = Staff
    query = (select(literal(corp_id, String).label("corp_id"), days.c.day, r.playbook_id, r.userid,
                    func.max(s.main_department).label("department_id"),
                    func.count().label("sent"), count(_confirmed_at(r, r.action).is_not(None)).label("confirmed"),
                    count(r.outcome == RecallOutcome.WON.value).label("re_engaged"),
                    count(r.outcome == RecallOutcome.LOST.value).label("expired"),
                    literal(utcnow(), DateTime).label("computed_at"))
             .select_from(days)
             .join(r, and_(r.sent_at >= days.c.start_at, r.sent_at < days.c.end_at))
             .outerjoin(s, and_(s.corp_id == corp_id, s.userid == r.userid))
             .where(r.corp_id == corp_id, r.status.in_(WENT_OUT), r.sent_at >= start, r.sent_at < end)
             .group_by(days.c.day, r.playbook_id, r.userid))
    columns = ["corp_id", "day", "playbook_id", "userid", "department_id", *RECALL_FLOWS, "computed_at"]
    return insert(RecallDailyStat).from_select(columns, query)


def build(corp_id: str, first: date, last: date, *, incremental: bool = True) -> int:
    """Recompute the rows of local days first..last and of the outcome window before them
    (delete, then insert … select; idempotent). Returns the rows written in first..last; the
    caller commits. ``incremental`` changes nothing (no stocks)."""
    if last < first:
        raise ValueError("the last day is before the first")
    since = min(first, min(last, local_today()) - timedelta(days=settings().recall_window_days + 1))
    for chunk_first, chunk_last in _spans(since, last, CHUNK_DAYS):
        db.session.execute(delete(RecallDailyStat).where(
            RecallDailyStat.corp_id == corp_id, RecallDailyStat.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last))
    return db.session.scalar(select(func.count()).select_from(RecallDailyStat).where(
        RecallDailyStat.corp_id == corp_id, RecallDailyStat.day.between(first, last))) or 0
