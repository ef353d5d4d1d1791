"""Helpers shared by the event handlers: race-safe upserts, timeline entries, payload parsing."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from scrm.extensions import db
from scrm.services import timeline
from scrm.services.dispatch import EventContext

M = TypeVar("M")


def insert_ignoring_conflict(model: type, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING (any unique constraint). True when a row was added."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - we run on PostgreSQL and SQLite only
        raise NotImplementedError(dialect)
    # RETURNING rather than rowcount: psycopg reports -1 for an ORM-enabled INSERT.
    primary_key = list(model.__table__.primary_key.columns)
    stmt = insert(model).values(**values).on_conflict_do_nothing().returning(*primary_key)
    return db.session.execute(stmt).first() is not None


def ensure_row(model: type[M], *, lock: bool = False, **keys: Any) -> tuple[M, bool]:
    """The row with these unique keys, inserted first if it is missing. Returns (row, created).

    INSERT ... ON CONFLICT DO NOTHING rather than select-then-add: two workers handling events
    about the same customer or chat at once would both add the row and one would fail on the
    unique constraint. With `lock`, the row is also locked (PostgreSQL; SQLite runs one writer
    anyway), so handlers of the same customer/chat run one after the other and each one sees
    what the other committed.
    """
    created = insert_ignoring_conflict(model, keys)
    query = select(model).filter_by(**keys)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(query).one(), created


def record(ctx: EventContext, external_userid: str, kind: str, *, userid: str | None = None,
           **data: Any) -> None:
    """A timeline entry for this callback (source, event id and time come from the event)."""
    timeline.record(ctx.corp_id, external_userid, kind, source=ctx.source, userid=userid,
                    occurred_at=ctx.occurred_at, event_id=ctx.event_id, data=data or None)


def as_int(value: Any) -> int | None:
    """xmltodict gives every value as a string (or None for an empty element)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_list(value: Any) -> list:
    """`<List><Item>a</Item></List>` parses to {'Item': 'a'} or {'Item': [...]} (PROTOCOL §2);
    older payloads sent a comma-separated string."""
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        value = value.get("Item")
        return [] if value is None else value if isinstance(value, list) else [value]
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    return list(value)
