"""Who may see which customer or group from the sidebar, mobile masking, and the audit log.

The external_userid / chat_id a sidebar request names comes from the browser, so every view and
change is checked here against what we store: a salesperson (data scope ``self``, the default)
sees the customers they follow (an active relation) and the groups they own or are in;
``department`` widens that to what members of their departments follow or own; ``corp`` sees
everything. Roles are rows of StaffRole, managed through the Open API.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    AuditLog,
    DataScope,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationStatus,
    Staff,
    StaffRole,
)


@dataclass(frozen=True)
class Role:
    role: str
    data_scope: str
    can_view_mobile: bool


DEFAULT_ROLE = Role("sales", DataScope.SELF, False)


def role_of(corp_id: str, userid: str) -> Role:
    row = db.session.scalar(select(StaffRole).filter_by(corp_id=corp_id, userid=userid))
    if row is None:
        return DEFAULT_ROLE
    return Role(row.role, row.data_scope, row.can_view_mobile)


def _departments(corp_id: str, userids: Iterable[str]) -> dict[str, set[int]]:
    rows = db.session.execute(select(Staff.userid, Staff.department_ids).where(
        Staff.corp_id == corp_id, Staff.userid.in_(set(userids))))
    return {userid: set(depts or []) for userid, depts in rows}


def _any_colleague(corp_id: str, userid: str, others: set[str]) -> bool:
    """Whether one of ``others`` shares a department with ``userid``."""
    if not others:
        return False
    depts = _departments(corp_id, others | {userid})
    mine = depts.get(userid, set())
    return any(mine & depts.get(other, set()) for other in others)


def followers(corp_id: str, external_userid: str) -> set[str]:
    return set(db.session.scalars(select(FollowRelation.userid).filter_by(
        corp_id=corp_id, external_userid=external_userid, status=RelationStatus.ACTIVE)))


def can_view_customer(corp_id: str, userid: str, external_userid: str, role: Role | None = None,
                      following: set[str] | None = None) -> bool:
    """``following``: the customer's active followers, when the caller has them already."""
    role = role or role_of(corp_id, userid)
    if role.data_scope == DataScope.CORP:
        return True
    if following is None:
        following = followers(corp_id, external_userid)
    if userid in following:
        return True
    return role.data_scope == DataScope.DEPARTMENT and _any_colleague(corp_id, userid, following)


def viewable_customers(corp_id: str, userid: str, external_userids: Iterable[str], role: Role) -> set[str]:
    """The subset of ``external_userids`` this staff member may open (one query for scope self)."""
    wanted = set(external_userids)
    if role.data_scope == DataScope.CORP or not wanted:
        return wanted
    rows = db.session.execute(select(FollowRelation.external_userid, FollowRelation.userid).where(
        FollowRelation.corp_id == corp_id, FollowRelation.external_userid.in_(wanted),
        FollowRelation.status == RelationStatus.ACTIVE)).all()
    if role.data_scope == DataScope.SELF:
        return {ext for ext, follower in rows if follower == userid}
    depts = _departments(corp_id, {follower for _, follower in rows} | {userid})
    mine = depts.get(userid, set())
    return {ext for ext, follower in rows if follower == userid or mine & depts.get(follower, set())}


def can_view_group(corp_id: str, userid: str, group: GroupChat, role: Role | None = None) -> bool:
    role = role or role_of(corp_id, userid)
    if role.data_scope == DataScope.CORP or group.owner == userid:
        return True
    member = db.session.scalar(select(GroupMember.id).filter_by(
        corp_id=corp_id, chat_id=group.chat_id, member_id=userid, type=1, quit_time=None))
    if member is not None:
        return True
    return role.data_scope == DataScope.DEPARTMENT and bool(group.owner) and _any_colleague(
        corp_id, userid, {group.owner})


def mask_mobile(mobile: str) -> str:
    """138****5678: the first 3 and last 4 digits of a mobile; shorter numbers keep the last 2."""
    if len(mobile) >= 8:
        return mobile[:3] + "*" * (len(mobile) - 7) + mobile[-4:]
    return "*" * max(len(mobile) - 2, 0) + mobile[-2:]


def audit(corp_id: str, userid: str, action: str, target_type: str, target_id: str, *,
          detail: dict | None = None, ip: str | None = None) -> None:
    """One audit row in the caller's transaction (the caller commits)."""
    db.session.add(AuditLog(corp_id=corp_id, userid=userid, action=action, target_type=target_type,
                            target_id=target_id, detail=detail, ip=ip, at=utcnow()))
