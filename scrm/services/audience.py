"""Who a bulk action or a mass message is for: the active relations (customer, staff member) it
may use. Shared by scrm/services/mass_messages and scrm/services/bulk.

An audience is what the operator asked for, kept on the job as asked:
``{"external_userids": [...]}`` — named customers (their active relations), ``{"segment_id": N}``
or ``{"filters": {...}}`` — the customer list's filters (scrm/services/customer_search). The
result is a SELECT, never rows: the build job turns it into recipients in one statement.
"""
from __future__ import annotations

from sqlalchemy import Select, select

from scrm.models import FollowRelation, RelationStatus

R = FollowRelation


def relations(corp_id: str, audience: dict) -> Select:
    """(external_userid, userid, relation id) of the audience's active relations. ``senders`` in the
    audience limits them to those staff members (the creator's data scope, fixed when it was made)."""
    query = select(R.external_userid, R.userid, R.id.label("relation_id")).where(
        R.corp_id == corp_id, R.status == RelationStatus.ACTIVE)
    if "external_userids" in audience:
        query = query.where(R.external_userid.in_(audience["external_userids"]))
    else:
        raise ValueError(f"unknown audience: {sorted(audience)}")
    if audience.get("senders") is not None:  # [] (a scope that sees nobody): no relation
        query = query.where(R.userid.in_(audience["senders"]))
    return query
