"""The one place a customer filter becomes SQL: the list, the segment counts and (later) bulk
actions and mass messaging all select their follow relations through ``relation_conditions``.

A filter is the dict CustomerFilterSchema loads (scrm/schemas/customer_search.py). Every
condition holds on one and the same follow relation; the result is a set of relations (a
customer with two staff members can match twice, once per relation, which is what a mass send
per sender or a tag change per relation needs).

``visible_userids``: the staff members whose relations the caller may see (the data-scope
policy's answer); None is the whole corp. Passing it is the policy module's one plug-in point.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import String, and_, cast, exists, false, or_, select
from sqlalchemy.sql.elements import ColumnElement

from scrm.extensions import db
from scrm.models import (
    Channel,
    Customer,
    CustomerStage,
    Department,
    FollowRelation,
    RelationRisk,
    RelationStatus,
    RelationTag,
    Staff,
)

FR = FollowRelation.__table__.c
# The EXISTS subqueries read their own aliases: the list's page statement joins the same tables
# for display, and a subquery on the joined table itself would correlate to it.
_STAGE = CustomerStage.__table__.alias("filter_stage").c
_RISK = RelationRisk.__table__.alias("filter_risk").c
_TAG = RelationTag.__table__.alias("filter_tag").c


def relation_conditions(corp_id: str, filters: dict[str, Any],
                        visible_userids: Collection[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE conditions on follow_relation for the filter (ANDed)."""
    conditions: list[ColumnElement[bool]] = [FR.corp_id == corp_id,
                                             FR.status.in_(filters.get("status") or [RelationStatus.ACTIVE])]
    owners = _owners(corp_id, filters, visible_userids)
    if owners is not None:
        conditions.append(FR.userid.in_(sorted(owners)) if owners else false())
    if filters.get("q"):
        conditions.append(_search(corp_id, filters["q"]))
    tag_ids = filters.get("tag_id") or []
    if tag_ids:
        conditions.extend(_tags(corp_id, tag_ids, filters.get("tag_mode", "any")))
    if filters.get("stage_id"):
        conditions.append(exists().where(_STAGE.corp_id == corp_id, _STAGE.external_userid == FR.external_userid,
                                         _STAGE.stage_id.in_(filters["stage_id"])))
    states = _states(corp_id, filters)
    if states is not None:
        conditions.append(FR.state.in_(sorted(states)) if states else false())
    if filters.get("added_from"):
        conditions.append(FR.added_at >= filters["added_from"])
    if filters.get("added_to"):
        conditions.append(FR.added_at < filters["added_to"])
    risk = _risk(filters)
    if risk:
        # relation_id is the relation's own id (so the corp's): an index-only probe (ix_relation_risk_probe)
        conditions.append(exists().where(_RISK.relation_id == FR.id, *risk))
    return conditions


def _owners(corp_id: str, filters: dict[str, Any], visible: Collection[str] | None) -> set[str] | None:
    """The staff whose relations may match: the intersection of owner, department and visibility
    (None: no restriction)."""
    owners: set[str] | None = set(visible) if visible is not None else None
    if filters.get("owner"):
        owners = set(filters["owner"]) if owners is None else owners & set(filters["owner"])
    if filters.get("department_id"):
        members = department_members(corp_id, filters["department_id"])
        owners = members if owners is None else owners & members
    return owners


def department_members(corp_id: str, dept_ids: Iterable[int]) -> set[str]:
    """Staff members of the departments or any department below them (two small reads: the
    corp's departments and its staff's department lists)."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in db.session.execute(
            select(Department.dept_id, Department.parent_id).where(Department.corp_id == corp_id)):
        children.setdefault(parent_id, []).append(dept_id)
    wanted: set[int] = set()
    stack = list(dept_ids)
    while stack:
        dept = stack.pop()
        if dept not in wanted:
            wanted.add(dept)
            stack.extend(children.get(dept, []))
    members = set()
    for userid, departments in db.session.execute(
            select(Staff.userid, Staff.department_ids).where(Staff.corp_id == corp_id)):
        if departments and wanted.intersection(departments):
            members.add(userid)
    return members


def _states(corp_id: str, filters: dict[str, Any]) -> set[str] | None:
    if not filters.get("channel_id") and not filters.get("state"):
        return None
    states = set(filters.get("state") or [])
    if filters.get("channel_id"):
        states |= set(db.session.scalars(select(Channel.state).where(
            Channel.corp_id == corp_id, Channel.id.in_(filters["channel_id"]))))
    return states


def _tags(corp_id: str, tag_ids: list[str], mode: str) -> list[ColumnElement[bool]]:
    # A corp tag's tag_key is its tag_id. Per relation the probe is the unique (corp, userid,
    # customer, tag_key) index alone; from the tag's side, ix_relation_tag_key.
    def tagged(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(_TAG.corp_id == corp_id, _TAG.userid == FR.userid,
                              _TAG.external_userid == FR.external_userid, *where)

    if mode == "all":
        return [tagged(_TAG.tag_key == tag_id) for tag_id in dict.fromkeys(tag_ids)]
    return [tagged(_TAG.tag_key.in_(sorted(set(tag_ids))))]


def _risk(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    risk: list[ColumnElement[bool]] = []
    if filters.get("risk_level"):
        risk.append(_RISK.level.in_(filters["risk_level"]))
    if filters.get("interaction_from"):
        risk.append(_RISK.last_interaction_at >= filters["interaction_from"])
    if filters.get("interaction_to"):
        risk.append(_RISK.last_interaction_at < filters["interaction_to"])
    return risk


def _search(corp_id: str, text: str) -> ColumnElement[bool]:
    """A prefix of the name or the remark; a whole phone number in the remark's mobiles. The text
    is personal data: it is never logged (and access logs carry the path only)."""
    digits = text.replace("-", "").replace(" ", "")
    if digits.lstrip("+").isdigit() and len(digits) >= 7:
        # remark_mobiles is a JSON array of strings: match one whole element, never a prefix.
        return cast(FR.remark_mobiles, String).like(f'%"{digits}"%')
    prefix = escape_like(text) + "%"
    return or_(FR.remark.like(prefix, escape="\\"),
               FR.external_userid.in_(select(Customer.external_userid).where(
                   Customer.corp_id == corp_id, Customer.name.like(prefix, escape="\\"))))


def escape_like(text: str) -> str:
    """A user's `%` or `_` is a literal character, not a wildcard."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matching_relations(corp_id: str, filters: dict[str, Any], visible_userids: Collection[str] | None = None):
    """SELECT follow_relation.id, userid, external_userid of every matching relation (for bulk
    work: a subquery to join or INSERT … SELECT from, never rows loaded into Python)."""
    return select(FR.id, FR.userid, FR.external_userid).where(
        and_(*relation_conditions(corp_id, filters, visible_userids)))
