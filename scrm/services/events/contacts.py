"""`change_contact` (通讯录): staff and departments, from the payload (docs/wecom/callbacks.md#contact-events).

update_user carries only the fields that changed, so only fields present in the payload are
written. A NewUserID renames the member everywhere we store a staff userid.

`update_tag` (contact tags, a different thing from customer tags) has no handler on purpose:
we keep no contact tags, and the inbox marks it `ignored`, which says exactly that — "processed"
would claim an effect that never happened.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import String, cast, delete, exists, select, update
from sqlalchemy.orm import aliased

from scrm.db import ensure_row
from scrm.extensions import db
from scrm.models import (
    AppMessage,
    Department,
    FollowRelation,
    FollowUp,
    GroupChat,
    GroupMember,
    HandoverBatch,
    HandoverItem,
    RelationTag,
    Staff,
    TimelineEntry,
)
from scrm.services import handover
from scrm.services.customer_search import search_rows
from scrm.services.events.common import as_int, as_list
from scrm.services.events.registry import EventContext, handles

log = logging.getLogger(__name__)

EVENT = "change_contact"
STAFF_MEMBER = 1  # GroupMember.type


def _department_ids(value: Any) -> list[int]:
    """"1,2,3" -> [1, 2, 3]."""
    return [dept_id for dept_id in (as_int(part) for part in as_list(value)) if dept_id is not None]


def _text(value: Any) -> str | None:
    return value or None  # an empty element parses to None already; "" is the same to us


def _as_is(value: Any) -> Any:
    return value


# attribute -> (callback payload element, user/list | department/list reply key, converter)
Fields = dict[str, tuple[str, str, Any]]
STAFF_FIELDS: Fields = {
    "name": ("Name", "name", _text), "alias": ("Alias", "alias", _text),
    "position": ("Position", "position", _text), "mobile": ("Mobile", "mobile", _text),
    "email": ("Email", "email", _text), "avatar": ("Avatar", "avatar", _text),
    "gender": ("Gender", "gender", as_int), "status": ("Status", "status", as_int),
    "main_department": ("MainDepartment", "main_department", as_int),
    "department_ids": ("Department", "department", _department_ids),
    # "1,0,0" / [1, 0, 0], aligned with the departments: the 离职继承 "manager" rule reads it
    "is_leader_in_dept": ("IsLeaderInDept", "is_leader_in_dept", _department_ids),
}
DEPARTMENT_FIELDS: Fields = {"name": ("Name", "name", _as_is), "parent_id": ("ParentId", "parentid", as_int),
                             "order": ("Order", "order", as_int)}


def apply_fields(row: Staff | Department, data: dict[str, Any], fields: Fields, *, api: bool = False) -> None:
    """Copy the fields present in `data`, a callback payload or (`api`) a WeCom reply item.
    Absent fields keep their value: update_user carries only what changed, and WeCom leaves out
    what an app may not see (newer apps get no names); present but empty means cleared."""
    for attribute, (element, key, convert) in fields.items():
        name = key if api else element
        if name in data:
            setattr(row, attribute, convert(data[name]))


@handles(EVENT, "create_user", "update_user")
def staff_changed(ctx: EventContext) -> None:
    userid, new_userid = ctx.get("UserID"), ctx.get("NewUserID")
    if new_userid and new_userid != userid:
        rename_userid(ctx.corp_id, userid, new_userid)
        userid = new_userid
    staff, _ = ensure_row(Staff, corp_id=ctx.corp_id, userid=userid)
    status = staff.status
    apply_fields(staff, ctx.data, STAFF_FIELDS)
    if staff.status != status:
        staff.session_version += 1  # disabled, enabled, left: their sidebar sessions end (sidebar/auth.py)
    if ctx.change_type == "create_user":
        staff.left_at = None  # a userid can be reused after a member left


@handles(EVENT, "delete_user")
def staff_left(ctx: EventContext) -> None:
    staff, _ = ensure_row(Staff, corp_id=ctx.corp_id, userid=ctx.get("UserID"))
    if staff.left_at is None:
        staff.session_version += 1  # their sidebar sessions end (sidebar/auth.py)
        # 离职继承: list their customers and groups into a handover batch, once this commits
        # (scrm/services/handover; the job asks WeCom, which a handler must not wait on).
        handover.open_resigned_later(ctx.corp_id, staff.userid)
    staff.left_at = staff.left_at or ctx.occurred_at


def _merge_unique(model: type, id_column: str, corp_id: str, old: str, new: str, *keys: str) -> None:
    """Rename `id_column` old -> new in a table where (corp_id, id_column, *keys) is unique.
    Old rows that would collide with a row already stored under the new id are dropped first:
    the new id's row is the fresher one (a sync may have seen the new id before this event)."""
    column = getattr(model, id_column)
    other = aliased(model)
    clash = exists().where(other.corp_id == corp_id, getattr(other, id_column) == new,
                           *(getattr(other, key) == getattr(model, key) for key in keys))
    db.session.execute(delete(model).where(model.corp_id == corp_id, column == old, clash)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(model).where(model.corp_id == corp_id, column == old)
                       .values({id_column: new}).execution_options(synchronize_session=False))


def rename_userid(corp_id: str, old: str, new: str) -> None:
    """Staff userid old -> new in staff, relations, relation tags, groups, timeline, app messages,
    handovers and follow-up reminder assignees.
    Archived chat messages keep the ids they were recorded with (they are a verbatim copy)."""
    log.info("renaming userid %s -> %s", old, new)
    _merge_unique(Staff, "userid", corp_id, old, new)
    _merge_unique(FollowRelation, "userid", corp_id, old, new, "external_userid")
    _merge_unique(RelationTag, "userid", corp_id, old, new, "external_userid", "tag_key")
    search_rows.refresh_at_commit(corp_id, userids=[old, new])  # the customer list's search rows
    _merge_unique(GroupMember, "member_id", corp_id, old, new, "chat_id")
    plain_columns = ((FollowRelation, "oper_userid"), (GroupChat, "owner"), (GroupMember, "invitor"),
                     (TimelineEntry, "userid"), (AppMessage, "from_userid"), (HandoverBatch, "handover_userid"),
                     (HandoverItem, "takeover_userid"), (FollowUp, "assignee_userid"))
    for model, name in plain_columns:
        db.session.execute(update(model).where(model.corp_id == corp_id, getattr(model, name) == old)
                           .values({name: new}).execution_options(synchronize_session=False))
    # admin_userids is a JSON list; the text match only narrows the rows, Python decides.
    for chat in db.session.scalars(select(GroupChat).where(
            GroupChat.corp_id == corp_id, cast(GroupChat.admin_userids, String).contains(f'"{old}"'))):
        if old in (chat.admin_userids or []):
            chat.admin_userids = [new if userid == old else userid for userid in chat.admin_userids]
    db.session.flush()
    db.session.expire_all()  # the bulk statements bypassed the identity map


@handles(EVENT, "create_party", "update_party")
def department_changed(ctx: EventContext) -> None:
    department, _ = ensure_row(Department, corp_id=ctx.corp_id, dept_id=as_int(ctx.get("Id")))
    apply_fields(department, ctx.data, DEPARTMENT_FIELDS)
    if ctx.change_type == "create_party":
        department.deleted_at = None  # department ids can be reused


@handles(EVENT, "delete_party")
def department_deleted(ctx: EventContext) -> None:
    department, _ = ensure_row(Department, corp_id=ctx.corp_id, dept_id=as_int(ctx.get("Id")))
    department.deleted_at = department.deleted_at or ctx.occurred_at
