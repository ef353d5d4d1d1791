"""Saved segments (分群): a named filter of the customer list, its live count, and the matching
relations for the bulk work that will act on a segment (scrm/services/customer_search/filters.py)."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scrm.extensions import db
from scrm.models import CustomerSegment
from scrm.schemas.customer_search import CustomerFilterSchema
from scrm.services.customer_search import listing
from scrm.services.validation import Invalid


def stored_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The loaded filter as JSON to store (times as ISO-8601, no empty values)."""
    dumped = CustomerFilterSchema().dump(filters)
    return {key: value for key, value in dumped.items() if value not in (None, [], "")}


def loaded_filters(segment: CustomerSegment) -> dict[str, Any]:
    """The stored filter, validated again (a filter saved under older rules answers 422)."""
    return loaded_stored(segment.filters or {})


def loaded_stored(filters: dict[str, Any]) -> dict[str, Any]:
    """A filter kept as JSON (stored_filters), loaded and validated again."""
    try:
        return CustomerFilterSchema().load(filters)
    except ValidationError as exc:
        raise Invalid({"filters": [f"{field}: {messages}" for field, messages in exc.messages.items()]}) from exc


def list_segments(corp_id: str) -> list[CustomerSegment]:
    return list(db.session.scalars(select(CustomerSegment).filter_by(corp_id=corp_id)
                                   .order_by(CustomerSegment.name, CustomerSegment.id)))


def get(corp_id: str, segment_id: int) -> CustomerSegment | None:
    return db.session.scalar(select(CustomerSegment).filter_by(corp_id=corp_id, id=segment_id))


def create(corp_id: str, data: dict[str, Any], actor: str | None) -> CustomerSegment:
    segment = CustomerSegment(corp_id=corp_id, name=data["name"], description=data.get("description"),
                              filters=stored_filters(data["filters"]), created_by=actor)
    db.session.add(segment)
    _commit()
    return segment


def update(segment: CustomerSegment, data: dict[str, Any]) -> CustomerSegment:
    if "name" in data:
        segment.name = data["name"]
    if "description" in data:
        segment.description = data["description"]
    if "filters" in data:
        segment.filters = stored_filters(data["filters"])
    _commit()
    return segment


def delete(segment: CustomerSegment) -> None:
    db.session.delete(segment)
    db.session.commit()


def count(segment: CustomerSegment, *, exact: bool = False,
          visible_userids: Collection[str] | None = None) -> dict[str, Any]:
    """The segment's live size: matching relations (capped unless ``exact``), and with ``exact``
    the distinct customers too."""
    filters = loaded_filters(segment)
    cap = None if exact else listing.COUNT_CAP
    total, capped = listing.count(segment.corp_id, filters, visible_userids, cap=cap)
    customers = listing.count_customers(segment.corp_id, filters, visible_userids) if exact else None
    return {"segment_id": segment.id, "total": total, "total_capped": capped, "count_cap": cap,
            "customers": customers}


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Invalid({"name": ["A segment with this name exists."]}) from exc
