"""GET /api/v1/customers and /api/v1/customers/<external_userid>."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_smorest.pagination import PaginationParameters
from marshmallow import Schema, fields
from sqlalchemy import and_, exists, or_, select
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_actor, current_corp_id, require_scope
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import service_errors
from scrm.extensions import db
from scrm.models import (
    Customer,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    TimelineEntry,
)
from scrm.models.corp import TokenScope
from scrm.schemas.customers import (
    CustomerDetailArgsSchema,
    CustomerDetailSchema,
    CustomerListArgsSchema,
    CustomerListItemSchema,
)
from scrm.services import privacy


class ErasureSchema(Schema):
    external_userid = fields.String()
    rows = fields.Dict(keys=fields.String(), values=fields.Integer(),
                       metadata={"description": "Rows anonymised (or, customer_date, deleted) per table."})


blp = make_blueprint("customers", __name__, "/api/v1/customers",
                     "Customers (external contacts) and their follow relations.")


@blp.route("")
@blp.arguments(CustomerListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CustomerListItemSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_customers(pagination_parameters: PaginationParameters, userid: str | None = None,
                   tag_id: str | None = None, status: str | None = None,
                   updated_since: datetime | None = None) -> list[dict[str, Any]]:
    """List customers

    Ordered by internal id (stable across pages). `userid`, `tag_id` and `status` must all hold
    on one and the same follow relation; each item still lists all of the customer's relations.
    Paginated: `page`, `page_size` (default 50, at most 200); totals in the `X-Pagination` header.
    """
    corp_id = current_corp_id()
    query = select(Customer).where(Customer.corp_id == corp_id).order_by(Customer.id)
    relation_of_customer = and_(FollowRelation.corp_id == corp_id,
                                FollowRelation.external_userid == Customer.external_userid)
    if userid or tag_id or status:
        conditions = [relation_of_customer]
        if userid:
            conditions.append(FollowRelation.userid == userid)
        if status:
            conditions.append(FollowRelation.status == status)
        if tag_id:
            conditions.append(exists().where(
                RelationTag.corp_id == corp_id, RelationTag.tag_id == tag_id,
                RelationTag.userid == FollowRelation.userid,
                RelationTag.external_userid == FollowRelation.external_userid))
        query = query.where(exists().where(*conditions))
    if updated_since:
        query = query.where(or_(
            Customer.updated_at >= updated_since,
            exists().where(relation_of_customer, FollowRelation.updated_at >= updated_since)))
    customers = page_of(scoping.scoped_customers(query, Customer.external_userid), pagination_parameters)
    relations = relations_by_customer(corp_id, [c.external_userid for c in customers])
    items = [row_dict(c, relations=scoping.visible_rows(relations[c.external_userid])) for c in customers]
    privacy.record_api_reads(corp_id, current_actor(), "api_list_customers", [c.external_userid for c in customers])
    return items


@blp.route("/<external_userid>")
@blp.arguments(CustomerDetailArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CustomerDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_customer(external_userid: str, timeline_limit: int) -> dict[str, Any]:
    """Get a customer

    With every follow relation (and its tags), the groups the customer is or was in, and the
    latest timeline entries.
    """
    scoping.require_customer(external_userid)
    detail = customer_detail(current_corp_id(), external_userid, timeline_limit)
    if detail is None:
        raise NotFound("No customer with this external_userid.")
    detail["relations"] = scoping.visible_rows(detail["relations"])
    privacy.record_api_reads(current_corp_id(), current_actor(), "api_view_customer", [external_userid])
    return detail


@blp.route("/<external_userid>/erase", methods=["POST"])
@blp.response(200, ErasureSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="DEFAULT_ERROR", description="The token's scope is not admin.")
@blp.alt_response(404, response="NOT_FOUND")
def erase_customer(external_userid: str) -> dict[str, Any]:
    """Erase a customer's personal data (PIPL; admin tokens only)

    Anonymises the customer everywhere: profile, remarks, mobiles, follow-ups, custom field
    values, timeline text, group nicknames, welcome texts, chat archive bodies, inbox payloads
    and audit details. Rows stay, so counts and reports keep adding up; customer dates are
    deleted. Who erased whom is recorded in the audit log (`erase_customer`). Answers the rows
    touched per table.
    """
    require_scope(TokenScope.ADMIN)
    with service_errors():
        rows = privacy.erase_customer(current_corp_id(), external_userid, actor=current_actor())
    if rows is None:
        raise NotFound("No customer with this external_userid.")
    return {"external_userid": external_userid, "rows": rows}


def customer_detail(corp_id: str, external_userid: str, timeline_limit: int = 20) -> dict[str, Any] | None:
    """The customer detail (before CustomerDetailSchema), or None when the corp has no such
    customer. Shared with the sidebar."""
    customer = db.session.scalar(select(Customer).filter_by(corp_id=corp_id, external_userid=external_userid))
    if customer is None:
        return None
    return row_dict(customer,
                    relations=relations_by_customer(corp_id, [external_userid])[external_userid],
                    groups=_groups_of(corp_id, external_userid),
                    timeline=_timeline(corp_id, external_userid, timeline_limit))


def relations_by_customer(corp_id: str, external_userids: Iterable[str]) -> defaultdict[str, list[dict]]:
    """external_userid → its relations (with staff name and tags), in two queries."""
    external_userids = list(external_userids)
    result: defaultdict[str, list[dict]] = defaultdict(list)
    if not external_userids:
        return result
    rows = db.session.execute(
        select(FollowRelation, Staff.name)
        .outerjoin(Staff, and_(Staff.corp_id == FollowRelation.corp_id,
                               Staff.userid == FollowRelation.userid))
        .where(FollowRelation.corp_id == corp_id, FollowRelation.external_userid.in_(external_userids))
        .order_by(FollowRelation.added_at, FollowRelation.id))
    tags = _tags_by_relation(corp_id, external_userids)
    for relation, staff_name in rows:
        key = (relation.userid, relation.external_userid)
        result[relation.external_userid].append(row_dict(relation, staff_name=staff_name, tags=tags[key]))
    return result


def _tags_by_relation(corp_id: str, external_userids: list[str]) -> defaultdict[tuple[str, str], list[dict]]:
    # The tag library's current names win over the names copied onto the relation when tagged.
    rows = db.session.execute(
        select(RelationTag, Tag.name, TagGroup.name)
        .outerjoin(Tag, and_(Tag.corp_id == RelationTag.corp_id, Tag.tag_id == RelationTag.tag_id))
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(RelationTag.corp_id == corp_id, RelationTag.external_userid.in_(external_userids))
        .order_by(RelationTag.id))
    tags: defaultdict[tuple[str, str], list[dict]] = defaultdict(list)
    for tag, library_name, library_group in rows:
        tags[(tag.userid, tag.external_userid)].append({
            "tag_id": tag.tag_id, "name": library_name or tag.tag_name,
            "group_name": library_group or tag.group_name, "type": tag.type})
    return tags


def _groups_of(corp_id: str, external_userid: str) -> list[dict]:
    rows = db.session.execute(
        select(GroupMember, GroupChat)
        .outerjoin(GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id,
                                   GroupChat.chat_id == GroupMember.chat_id))
        .where(GroupMember.corp_id == corp_id, GroupMember.member_id == external_userid)
        .order_by(GroupMember.join_time.desc().nulls_last(), GroupMember.id.desc()))
    return [{
        "chat_id": member.chat_id, "name": group and group.name, "owner": group and group.owner,
        "group_status": group and group.status, "join_time": member.join_time,
        "join_scene": member.join_scene, "quit_time": member.quit_time,
        "current": member.quit_time is None and (group is None or group.status != "dismissed"),
    } for member, group in rows]


def _timeline(corp_id: str, external_userid: str, limit: int) -> list[TimelineEntry]:
    return list(db.session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.corp_id == corp_id, TimelineEntry.external_userid == external_userid)
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(limit)))
