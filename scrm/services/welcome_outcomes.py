"""Welcome outcomes: how each add's welcome message went (one WelcomeMessage row per add that
carried a WelcomeCode, written by scrm/services/welcome.py), for the Open API."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from scrm.models import WelcomeMessage


def outcomes_query(corp_id: str, *, status: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, userid: str | None = None,
                   external_userid: str | None = None) -> Select:
    """The corp's welcome outcomes, newest add first, filtered (ordered: stable across pages)."""
    query = (select(WelcomeMessage).where(WelcomeMessage.corp_id == corp_id)
             .order_by(WelcomeMessage.received_at.desc(), WelcomeMessage.id.desc()))
    if status:
        query = query.where(WelcomeMessage.status == status)
    if since:
        query = query.where(WelcomeMessage.received_at >= since)
    if until:
        query = query.where(WelcomeMessage.received_at < until)
    if userid:
        query = query.where(WelcomeMessage.userid == userid)
    if external_userid:
        query = query.where(WelcomeMessage.external_userid == external_userid)
    return query
