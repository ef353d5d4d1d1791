"""Who a bulk action or a mass message is for: the active relations (customer, staff member) it
may use. Shared by scrm/services/mass_messages and scrm/services/bulk.

An audience is what the operator asked for, kept on the job as asked (JSON):

* ``{"external_userids": [...]}`` — named customers (their active relations);
* ``{"segment_id": N}`` — a saved segment, its filters read when the job is built (a segment
  edited meanwhile applies; one deleted meanwhile fails the job);
* ``{"filters": {...}}`` — the customer list's filters as they were (scrm/services/customer_search).

``senders`` (optional) limits it to those staff members: the creator's data scope, fixed when it
was made. The result is a SELECT, never rows: the build turns it into rows in one statement.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from scrm.models import FollowRelation, RelationStatus
from scrm.services.customer_search import segments
from scrm.services.customer_search.filters import matching_relations
from scrm.services.validation import Invalid

R = FollowRelation


def stored(corp_id: str, audience: dict[str, Any]) -> dict[str, Any]:
    """The audience as it is kept on the job (loaded filters back to JSON); a segment of another
    corp or none → Invalid."""
    if "segment_id" in audience and segments.get(corp_id, audience["segment_id"]) is None:
        raise Invalid({"audience.segment_id": [f"No segment {audience['segment_id']}."]})
    if "filters" in audience:
        return {**audience, "filters": segments.stored_filters(audience["filters"])}
    return audience


def relations(corp_id: str, audience: dict[str, Any]) -> Select:
    """(external_userid, userid, relation_id) of the audience's active relations. Raises
    ValueError (Invalid) for an audience that cannot be resolved any more (a deleted segment)."""
    senders = audience.get("senders")  # [] (a scope that sees nobody): no relation
    if "external_userids" in audience:
        query = select(R.external_userid, R.userid, R.id.label("relation_id")).where(
            R.corp_id == corp_id, R.status == RelationStatus.ACTIVE,
            R.external_userid.in_(audience["external_userids"]))
        return query if senders is None else query.where(R.userid.in_(senders))
    if "segment_id" in audience:
        segment = segments.get(corp_id, audience["segment_id"])
        if segment is None:
            raise Invalid({"audience.segment_id": ["The segment was deleted."]})
        filters = segments.loaded_filters(segment)
    elif "filters" in audience:
        filters = segments.loaded_stored(audience["filters"])
    else:
        raise Invalid({"audience": [f"Unknown audience: {sorted(audience)}."]})
    found = matching_relations(corp_id, {**filters, "status": [RelationStatus.ACTIVE]}, senders).subquery()
    return select(found.c.external_userid, found.c.userid, found.c.id.label("relation_id"))
