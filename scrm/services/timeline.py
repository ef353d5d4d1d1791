"""Append-only customer timeline."""
from __future__ import annotations

from datetime import datetime

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import TimelineEntry


def record(corp_id: str, external_userid: str, kind: str, *, source: str,
           userid: str | None = None, occurred_at: datetime | None = None,
           event_id: int | None = None, summary: str | None = None,
           data: dict | None = None, pending: dict | None = None) -> TimelineEntry | None:
    """Add one entry in the caller's transaction (the caller commits).

    `pending` (the sync's pages): collect the row there instead, to be inserted with the page's
    other new rows in one statement (scrm.services.events.common.insert_pending); returns None."""
    values = {"corp_id": corp_id, "external_userid": external_userid, "userid": userid, "kind": kind,
              "source": source, "occurred_at": occurred_at or utcnow(), "event_id": event_id,
              "summary": summary, "data": data}
    if pending is not None:
        pending.setdefault(TimelineEntry, []).append(values)
        return None
    entry = TimelineEntry(**values)
    db.session.add(entry)
    return entry
