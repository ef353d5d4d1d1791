"""The Open API's list of churn alerts (GET /api/v1/churn/alerts): what was sent to whom, when,
and what failed. Customer names are not in the rows (the message held them; the API gives ids)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, select

from scrm.models import ChurnAlert
from scrm.services import localtime


def list_query(corp_id: str, *, kind: str | None = None, status: str | None = None, recipient: str | None = None,
               about: str | None = None, first: date | None = None, last: date | None = None) -> Select:
    """Newest first; ``first`` / ``last``: corp-local days of creation (inclusive)."""
    query = select(ChurnAlert).where(ChurnAlert.corp_id == corp_id)
    if kind:
        query = query.where(ChurnAlert.kind == kind)
    if status:
        query = query.where(ChurnAlert.status == status)
    if recipient:
        query = query.where(ChurnAlert.recipient_userid == recipient)
    if about:
        query = query.where(ChurnAlert.about_userid == about)
    if first:
        query = query.where(ChurnAlert.created_at >= localtime.midnight(first))
    if last:
        query = query.where(ChurnAlert.created_at < localtime.midnight(last + timedelta(days=1)))
    return query.order_by(ChurnAlert.created_at.desc(), ChurnAlert.id.desc())
