"""Reads behind the Open API: recalls with their status and outcome, and a playbook's figures
(sent, won, lost, recall rate) in total and per corp-local month of sending."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, select

from scrm.extensions import db
from scrm.models import Recall, RecallOutcome
from scrm.services.churn.queries import months
from scrm.services.group_stats.aggregate import _day_table
from scrm.services.recall.outcomes import WENT_OUT

FILTERS = ("playbook_id", "status", "outcome", "userid", "external_userid", "trigger", "action")


def recalls_query(corp_id: str, args: dict[str, Any]) -> Select:
    """Recalls of the corp, newest first, filtered by ``args`` (FILTERS, created_from / created_to)."""
    query = select(Recall).where(Recall.corp_id == corp_id)
    for key in FILTERS:
        if args.get(key) is not None:
            query = query.where(getattr(Recall, key) == args[key])
    if args.get("created_from") is not None:
        query = query.where(Recall.created_at >= args["created_from"])
    if args.get("created_to") is not None:
        query = query.where(Recall.created_at < args["created_to"])
    return query.order_by(Recall.created_at.desc(), Recall.id.desc())


def _figures(went_out, outcome):
    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
    return (count(went_out), count(and_(went_out, outcome == RecallOutcome.WON.value)),
            count(and_(went_out, outcome == RecallOutcome.LOST.value)))


def _row(sent: int, won: int, lost: int, **extra: Any) -> dict[str, Any]:
    sent, won, lost = int(sent), int(won), int(lost)
    return {**extra, "sent": sent, "won": won, "lost": lost, "open": sent - won - lost,
            "recall_rate": round(won / sent, 4) if sent else None}


def stats(playbook_id: int, first: date, last: date) -> dict[str, Any]:
    """The playbook's figures over all time, and per local month of first..last (by sent_at)."""
    r = Recall
    went_out = r.status.in_(WENT_OUT)
    total = db.session.execute(select(*_figures(went_out, r.outcome)).where(r.playbook_id == playbook_id)).one()
    buckets = _day_table(months(first, last))
    per_month = db.session.execute(
        select(buckets.c.day, *_figures(went_out, r.outcome))
        .select_from(buckets)
        .outerjoin(r, and_(r.playbook_id == playbook_id, r.sent_at >= buckets.c.start_at,
                           r.sent_at < buckets.c.end_at))
        .group_by(buckets.c.day).order_by(buckets.c.day)).all()

    def key(value) -> str:
        return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).strftime("%Y-%m")

    return {"playbook_id": playbook_id, "from_": first, "to": last, **_row(*total),
            "by_month": [_row(sent, won, lost, month=key(day)) for day, sent, won, lost in per_month]}
