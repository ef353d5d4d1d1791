"""Helpers shared by the event handlers: timeline entries and payload parsing. (The race-safe
upserts they use are scrm/db.py.)"""
from __future__ import annotations

from typing import Any

from scrm.services import timeline
from scrm.services.events.registry import EventContext


def record(ctx: EventContext, external_userid: str, kind: str, *, userid: str | None = None,
           **data: Any) -> None:
    """A timeline entry for this callback (source, event id and time come from the event)."""
    timeline.record(ctx.corp_id, external_userid, kind, source=ctx.source, userid=userid,
                    occurred_at=ctx.occurred_at, event_id=ctx.event_id, data=data or None, pending=ctx.pending)


def as_int(value: Any) -> int | None:
    """xmltodict gives every value as a string (or None for an empty element)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_list(value: Any) -> list:
    """`<List><Item>a</Item></List>` parses to {'Item': 'a'} or {'Item': [...]}
    (docs/wecom/callbacks.md#payload-parsing);
    older payloads sent a comma-separated string."""
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        value = value.get("Item")
        return [] if value is None else value if isinstance(value, list) else [value]
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    return list(value)
