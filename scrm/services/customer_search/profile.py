"""The console's customer page: the sidebar's profile parts (scrm/services/profile) for a reader
who is not one of the customer's staff — every relation with its tags and churn risk, the
stage, the custom fields, the groups, the SOPs — and the sidebar's timeline. Mobiles are masked
unless the reader's role may see them; with a data scope, the relations and the timeline entries
of members the reader does not see are left out (a customer shared with another department shows
only this side of it)."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, select

from scrm.extensions import db
from scrm.models import Customer, FollowRelation, TimelineEntry
from scrm.services import access, sop
from scrm.services.customer_search.listing import relation_tags
from scrm.services.profile.common import STATUS_LABELS, label, staff_names
from scrm.services.profile.risk import relation_risk
from scrm.services.profile.timeline import timeline_page
from scrm.services.profile.views import (
    ADD_WAY_LABELS,
    GENDER_LABELS,
    TYPE_LABELS,
    fields_view,
    groups_view,
    stage_view,
)


def customer_profile(corp_id: str, external_userid: str, visible_userids: Collection[str] | None = None,
                     *, mask_mobiles: bool = True) -> dict[str, Any] | None:
    """None when the corp has no such customer, or none of its relations is visible."""
    customer = db.session.scalar(select(Customer).filter_by(corp_id=corp_id, external_userid=external_userid))
    if customer is None:
        return None
    relations = list(db.session.scalars(select(FollowRelation).filter_by(
        corp_id=corp_id, external_userid=external_userid).order_by(FollowRelation.added_at, FollowRelation.id)))
    if visible_userids is not None:
        relations = [r for r in relations if r.userid in visible_userids]
        if not relations:
            return None
    names = staff_names(corp_id, {r.userid for r in relations})
    tags = relation_tags(corp_id, [{"userid": r.userid, "external_userid": r.external_userid} for r in relations])
    view = {
        "customer": {
            "external_userid": customer.external_userid, "name": customer.name, "avatar": customer.avatar,
            "type": customer.type, "type_label": label(TYPE_LABELS, customer.type),
            "gender": customer.gender, "gender_label": label(GENDER_LABELS, customer.gender),
            "corp_name": customer.corp_name, "corp_full_name": customer.corp_full_name,
            "position": customer.position},
        "relations": [{
            "userid": r.userid, "staff_name": names.get(r.userid), "remark": r.remark,
            "description": r.description, "remark_corp_name": r.remark_corp_name,
            "remark_mobiles": [access.mask_mobile(m) if mask_mobiles else m for m in r.remark_mobiles or [] if m],
            "mobiles_masked": mask_mobiles,
            "add_way": r.add_way, "add_way_label": label(ADD_WAY_LABELS, r.add_way), "state": r.state,
            "added_at": r.added_at, "status": r.status, "status_label": label(STATUS_LABELS, r.status),
            "tags": tags[(r.userid, r.external_userid)],
            "churn_risk": relation_risk(corp_id, r.userid, external_userid)} for r in relations],
        "stage": stage_view(corp_id, external_userid),
        "fields": fields_view(corp_id, external_userid),
        "groups": groups_view(corp_id, external_userid),
        "sops": sop.summaries(corp_id, external_userid),
    }
    db.session.commit()  # stage_view gives a corp without a funnel the default stages
    return view


def customer_timeline(corp_id: str, external_userid: str, *, before: int | None = None, limit: int = 20,
                      visible_userids: Collection[str] | None = None, mask_mobiles: bool = True) -> dict[str, Any]:
    """The customer's timeline; with a data scope, only the customer's own entries (no member) and
    those of members the reader sees."""
    where = None
    if visible_userids is not None:
        where = or_(TimelineEntry.userid.is_(None), TimelineEntry.userid.in_(sorted(visible_userids)))
    return timeline_page(corp_id, external_userid, before=before, limit=limit, mask_mobiles=mask_mobiles,
                         where=where)


def visible(corp_id: str, external_userid: str, visible_userids: Collection[str] | None = None) -> bool:
    """The corp has the customer and (with a data scope) one of its relations is visible."""
    if visible_userids is None:
        return db.session.scalar(select(Customer.id).filter_by(
            corp_id=corp_id, external_userid=external_userid)) is not None
    return db.session.scalar(select(FollowRelation.id).where(
        FollowRelation.corp_id == corp_id, FollowRelation.external_userid == external_userid,
        FollowRelation.userid.in_(list(visible_userids))).limit(1)) is not None
