"""What every part of the sidebar's profile shares: the access outcomes, the check that a staff
member may see a customer, and small lookups."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select

from scrm.extensions import core_execute, db
from scrm.models import Customer, FollowRelation, RelationStatus, Staff
from scrm.services import policy

STATUS_LABELS = {
    RelationStatus.ACTIVE: "跟进中", RelationStatus.DELETED_BY_STAFF: "已删除客户",
    RelationStatus.DELETED_BY_CUSTOMER: "客户已删除", RelationStatus.TRANSFERRED: "已转接",
    RelationStatus.DELETED_UNKNOWN: "已失联",
}


STAFF_LEFT = 5  # WeCom's member status: left the corp


class Forbidden(Exception):
    """The staff member may not see or change this (answered 403, nothing else said)."""


class NotSynced(Exception):
    """We hold no such customer / group (answered 404, with the fetch-now offer)."""


def label(labels: dict, value: Any) -> str | None:
    return None if value is None else labels.get(value, str(value))


# Statements of the profile's hot path, built once (building one cost more CPU than running it,
# bench/sidebar.py) and bound per call.
_STAFF_NAMES = functools.cache(lambda: select(Staff.userid, Staff.name).where(
    Staff.corp_id == bindparam("corp_id"), Staff.userid.in_(bindparam("userids", expanding=True))))
_STAFF_NAMES_LEFT = functools.cache(lambda: select(Staff.userid, Staff.name, Staff.left_at, Staff.status).where(
    Staff.corp_id == bindparam("corp_id"), Staff.userid.in_(bindparam("userids", expanding=True))))
# The customer as the profile shows them: columns, not an ORM object.
customer_query = functools.cache(lambda: select(
    Customer.external_userid, Customer.name, Customer.avatar, Customer.type, Customer.gender, Customer.corp_name,
    Customer.corp_full_name, Customer.position).where(
    Customer.corp_id == bindparam("corp_id"), Customer.external_userid == bindparam("external_userid")))


def staff_names(corp_id: str, userids: set[str]) -> dict[str, str | None]:
    if not userids:
        return {}
    return dict(core_execute(_STAFF_NAMES(), {"corp_id": corp_id, "userids": sorted(userids)}).all())


def staff_names_left(corp_id: str, userids: set[str]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """staff_names(), and {userid: when they left (None when only WeCom's status 5 says so)} for
    those who left the corp (离职), in one read."""
    if not userids:
        return {}, {}
    rows = core_execute(_STAFF_NAMES_LEFT(), {"corp_id": corp_id, "userids": sorted(userids)}).all()
    return ({userid: name for userid, name, _, _ in rows},
            {userid: left_at for userid, _, left_at, status in rows if left_at is not None or status == STAFF_LEFT})


UNREAD: Any = object()


def check_customer(corp_id: str, userid: str, external_userid: str,
                   relations: Sequence[Any] | None = None, *, customer: Any = UNREAD,
                   role: policy.Role | None = None) -> tuple[Any, policy.Role]:
    """The customer (a row of the columns the profile shows), if this staff member may see them;
    else Forbidden / NotSynced (a customer we do not hold at all: the fetch checks with WeCom).
    ``relations``: the customer's, when the caller has read them already (FollowRelations or
    rows with their userid and status: they answer the check for a follower); ``customer`` (its
    customer_query() row, None: not held) and ``role`` likewise."""
    role = role or policy.role_of(corp_id, userid)
    if customer is UNREAD:
        customer = _customer(corp_id, external_userid)
    if customer is None:
        raise NotSynced
    following = None if relations is None else {r.userid for r in relations if is_active(r)}
    if not policy.can_view_customer(corp_id, userid, external_userid, role, following):
        raise Forbidden
    return customer, role


def check_reader(corp_id: str, userid: str, external_userid: str,
                 relations: Sequence[Any] | None = None, *, customer: Any = UNREAD,
                 role: policy.Role | None = None) -> tuple[Any, policy.Role, bool]:
    """check_customer for reading the profile, its timeline and follow-ups, and adding a
    follow-up: a staff member whose relation the customer ended (del_follow_user) keeps them,
    read-only (the third value, True). Their tags and remark are WeCom's and refused for a
    non-friend; the stage and custom fields belong to the customer's remaining followers."""
    try:
        customer, role = check_customer(corp_id, userid, external_userid, relations, customer=customer, role=role)
        return customer, role, False
    except Forbidden:
        if relations is None:
            relations = list(db.session.scalars(select(FollowRelation).filter_by(
                corp_id=corp_id, userid=userid, external_userid=external_userid)))
        if not any(r.userid == userid and r.status == RelationStatus.DELETED_BY_CUSTOMER for r in relations):
            raise
    if customer is UNREAD:
        customer = _customer(corp_id, external_userid)
    return customer, role or policy.role_of(corp_id, userid), True


def _customer(corp_id: str, external_userid: str) -> Any:
    return core_execute(customer_query(), {"corp_id": corp_id, "external_userid": external_userid}).first()


def is_active(relation: FollowRelation | None) -> bool:
    return relation is not None and relation.status == RelationStatus.ACTIVE


def my_relation(corp_id: str, userid: str, external_userid: str) -> FollowRelation:
    """This staff member's active relation: WeCom edits (tags, remark) are made as the follower."""
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid))
    if not is_active(relation):
        raise Forbidden
    return relation
