"""The one place a customer filter becomes SQL: the list, the segment counts and (later) bulk
actions and mass messaging all select their follow relations through ``relation_conditions``.

A filter is the dict CustomerFilterSchema loads (scrm/schemas/customer_search.py). Every
condition holds on one and the same follow relation; the result is a set of relations (a
customer with two staff members can match twice, once per relation, which is what a mass send
per sender or a tag change per relation needs).

``visible_userids``: the staff members whose relations the caller may see (the data-scope
policy's answer); None is the whole corp. Passing it is the policy module's one plug-in point.

The conditions are on relation_search (scrm/models/search.py): one flat row per relation with the
stage, the churn level and last interaction and the corp tags (an integer array, GIN-indexed on
PostgreSQL), kept current by the writers (scrm/services/customer_search/search_rows.py). So a
filter is an index probe on one table, and PostgreSQL combines them (BitmapAnd) or walks the
(corp, status, added_at) index for a page, instead of a semi-join per filter.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import String, and_, cast, false, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from scrm.extensions import db
from scrm.models import (
    Channel,
    Customer,
    Department,
    FollowRelation,
    RelationStatus,
    Staff,
    Tag,
)
from scrm.models.search import RelationSearch

S = RelationSearch.__table__.c  # the search rows: every filter and count reads this table only
FR = FollowRelation.__table__.c


def relation_conditions(corp_id: str, filters: dict[str, Any],
                        visible_userids: Collection[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE conditions on relation_search for the filter (ANDed)."""
    conditions: list[ColumnElement[bool]] = [S.corp_id == corp_id,
                                             S.status.in_(filters.get("status") or [RelationStatus.ACTIVE])]
    owners = _owners(corp_id, filters, visible_userids)
    if owners is not None:
        conditions.append(S.userid.in_(sorted(owners)) if owners else false())
    if filters.get("q"):
        conditions.append(_search(corp_id, filters["q"]))
    if filters.get("tag_id"):
        conditions.append(_tags(corp_id, filters["tag_id"], filters.get("tag_mode", "any")))
    if filters.get("stage_id"):
        conditions.append(S.stage_id.in_(filters["stage_id"]))
    states = _states(corp_id, filters)
    if states is not None:
        conditions.append(S.state.in_(sorted(states)) if states else false())
    if filters.get("added_from"):
        conditions.append(S.added_at >= filters["added_from"])
    if filters.get("added_to"):
        conditions.append(S.added_at < filters["added_to"])
    if filters.get("risk_level"):
        conditions.append(S.risk_level.in_(filters["risk_level"]))
    if filters.get("interaction_from"):
        conditions.append(S.last_interaction_at >= filters["interaction_from"])
    if filters.get("interaction_to"):
        conditions.append(S.last_interaction_at < filters["interaction_to"])
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


def _tags(corp_id: str, tag_ids: list[str], mode: str) -> ColumnElement[bool]:
    """The relation carries any (``all``: every one) of the corp tags. Matched on Tag.id: one small
    read of the library, then the array's GIN index (PostgreSQL) or a LIKE per tag (SQLite)."""
    wanted = set(tag_ids)
    known = dict(db.session.execute(
        select(Tag.tag_id, Tag.id).where(Tag.corp_id == corp_id, Tag.tag_id.in_(wanted))).tuples().all())
    ids = sorted(known.values())
    if not ids or (mode == "all" and len(known) < len(wanted)):
        return false()
    if db.session.get_bind().dialect.name == "postgresql":
        # Integers from our own table, inlined: the planner sees the very tags (the array's
        # element statistics) even when the driver has prepared the statement.
        array = literal_column(f"'{{{','.join(str(int(i)) for i in ids)}}}'::integer[]")
        return S.tag_ids.op("@>" if mode == "all" else "&&")(array)
    matches = [cast(S.tag_ids, String).like(f"%,{int(i)},%") for i in ids]
    return and_(*matches) if mode == "all" else or_(*matches)


def _search(corp_id: str, text: str) -> ColumnElement[bool]:
    """A prefix of the name or the remark; a whole phone number in the remark's mobiles. The text
    is personal data: it is never logged (and access logs carry the path only). Personal text is
    not copied into the search rows: these read follow_relation and customer by index."""
    digits = text.replace("-", "").replace(" ", "")
    if digits.lstrip("+").isdigit() and len(digits) >= 7:
        # remark_mobiles is a JSON array of strings: match one whole element, never a prefix.
        return S.relation_id.in_(select(FR.id).where(
            FR.corp_id == corp_id, cast(FR.remark_mobiles, String).like(f'%"{digits}"%')))
    prefix = escape_like(text) + "%"
    return or_(S.relation_id.in_(select(FR.id).where(FR.corp_id == corp_id, FR.remark.like(prefix, escape="\\"))),
               S.external_userid.in_(select(Customer.external_userid).where(
                   Customer.corp_id == corp_id, Customer.name.like(prefix, escape="\\"))))


def escape_like(text: str) -> str:
    """A user's `%` or `_` is a literal character, not a wildcard."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matching_relations(corp_id: str, filters: dict[str, Any], visible_userids: Collection[str] | None = None):
    """SELECT id (follow_relation.id), userid, external_userid of every matching relation (for bulk
    work: a subquery to join or INSERT … SELECT from, never rows loaded into Python)."""
    return select(S.relation_id.label("id"), S.userid, S.external_userid).where(
        and_(*relation_conditions(corp_id, filters, visible_userids)))
