"""Data scopes: whose customers, groups, tasks and alerts a member sees.

The visible userids of a member: scope ``self`` → themselves; ``department`` → every member of
the departments they belong to (led or not) and of all departments below them; ``corp`` → all
(``None``: no restriction). Computed once per Viewer (one Viewer per request) with one
department query and one staff query, then used as an ``IN`` list in set-based SQL: customers
are visible through an active FollowRelation of a visible member, groups through their owner,
SOP tasks, recalls, alerts and welcome outcomes through their member.

A single check (may this member open this customer or group: the sidebar's every view) asks
only about the few members concerned (``Viewer.sees_any``: the customer's followers, the group's
owner) and reads their rows, not the department's every member; nothing is cached, so a move to
another department or a new role counts from the next request.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.sql import ColumnElement, Select

from scrm.extensions import db
from scrm.models import DataScope, FollowRelation, GroupChat, GroupMember, RelationStatus
from scrm.services.policy import departments
from scrm.services.policy.roles import ADMINISTRATOR, Role, role_of


def visible_userids(corp_id: str, userid: str, scope: str,
                    among: Iterable[str] | None = None) -> frozenset[str] | None:
    """The userids a member with ``scope`` sees (None: everyone); with ``among``, only those of
    ``among`` (the same answer for them, reading only their rows)."""
    if scope == DataScope.CORP:
        return None
    if among is not None:
        among = set(among)
    if scope == DataScope.DEPARTMENT:
        others = among - {userid} if among is not None else None
        if others is not None and not others:
            return frozenset(among & {userid})
        depts = departments.and_below(corp_id, departments.of_member(corp_id, userid))
        seen = frozenset(departments.members_of(corp_id, depts, others) | {userid})
    else:
        seen = frozenset({userid})
    return seen if among is None else seen & among


@dataclass
class Viewer:
    """Who is looking, for one request: the member (None for a local administrator) and their role."""

    corp_id: str
    userid: str | None
    role: Role
    _visible: frozenset[str] | None = field(default=None, init=False, repr=False)
    _computed: bool = field(default=False, init=False, repr=False)

    @classmethod
    def of(cls, corp_id: str, userid: str | None, role: Role | None = None) -> Viewer:
        if userid is None:
            return cls(corp_id, None, ADMINISTRATOR)
        return cls(corp_id, userid, role or role_of(corp_id, userid))

    @property
    def restricted(self) -> bool:
        return self.userid is not None and self.role.scope != DataScope.CORP

    def visible(self) -> frozenset[str] | None:
        """The userids whose data this viewer sees; None: everyone's."""
        if not self._computed:
            self._visible = (visible_userids(self.corp_id, self.userid, self.role.scope)
                             if self.restricted else None)
            self._computed = True
        return self._visible

    def sees(self, userid: str | None) -> bool:
        visible = self.visible()
        return visible is None or (userid is not None and userid in visible)

    def sees_one(self, userid: str | None) -> bool:
        """sees() for a single check (reads this member's row, not every visible member's)."""
        return not self.restricted or (userid is not None and bool(self.sees_any({userid})))

    def sees_any(self, userids: Iterable[str]) -> frozenset[str]:
        """Those of ``userids`` whose data this viewer sees. Until visible() has been asked for,
        only their rows are read (one short query), not the whole department's members."""
        wanted = frozenset(userids)
        if not self.restricted:
            return wanted
        if self._computed:
            return wanted & self._visible
        return visible_userids(self.corp_id, self.userid, self.role.scope, wanted)


# ---- query helpers: no-ops for None (a token) and for an unrestricted viewer ---------------------

def scope_select(viewer: Viewer | None, query: Select, userid_column: ColumnElement) -> Select:
    """Rows whose member (``userid_column``) the viewer sees."""
    visible = viewer.visible() if viewer else None
    return query if visible is None else query.where(userid_column.in_(sorted(visible)))


def followed_in_scope(viewer: Viewer, external_userid_column: ColumnElement) -> ColumnElement:
    """SQL condition: an active relation of a visible member follows this customer."""
    return exists().where(FollowRelation.corp_id == viewer.corp_id,
                          FollowRelation.external_userid == external_userid_column,
                          FollowRelation.status == RelationStatus.ACTIVE,
                          FollowRelation.userid.in_(sorted(viewer.visible() or ())))


def scope_customers(viewer: Viewer | None, query: Select, external_userid_column: ColumnElement) -> Select:
    """Rows about customers an active relation of a visible member follows."""
    if viewer is None or viewer.visible() is None:
        return query
    return query.where(followed_in_scope(viewer, external_userid_column))


def scope_groups(viewer: Viewer | None, query: Select, chat_id_column: ColumnElement) -> Select:
    """Rows about groups a visible member owns."""
    visible = viewer.visible() if viewer else None
    if visible is None:
        return query
    return query.where(chat_id_column.in_(select(GroupChat.chat_id).where(
        GroupChat.corp_id == viewer.corp_id, GroupChat.owner.in_(sorted(visible)))))


def customer_visible(viewer: Viewer | None, external_userid: str) -> bool:
    if viewer is None or viewer.visible() is None:
        return True
    return bool(db.session.scalar(select(followed_in_scope(viewer, external_userid))))


def group_visible(viewer: Viewer | None, chat_id: str) -> bool:
    if viewer is None or not viewer.restricted:
        return True
    owner = db.session.scalar(select(GroupChat.owner).filter_by(corp_id=viewer.corp_id, chat_id=chat_id))
    return viewer.sees_one(owner)


# ---- the sidebar's checks ----------------------------------------------------------------------

def followers(corp_id: str, external_userid: str) -> set[str]:
    return set(db.session.scalars(select(FollowRelation.userid).filter_by(
        corp_id=corp_id, external_userid=external_userid, status=RelationStatus.ACTIVE)))


def can_view_customer(corp_id: str, userid: str, external_userid: str, role: Role | None = None,
                      following: set[str] | None = None) -> bool:
    """``following``: the customer's active followers, when the caller has them already."""
    viewer = Viewer.of(corp_id, userid, role)
    if not viewer.restricted:
        return True
    if following is None:
        following = followers(corp_id, external_userid)
    if userid in following:  # every scope sees the member's own customers: nothing to read
        return True
    return bool(viewer.sees_any(following))


def viewable_customers(corp_id: str, userid: str, external_userids: Iterable[str], role: Role) -> set[str]:
    """The subset of ``external_userids`` this member may open (one query)."""
    wanted = set(external_userids)
    visible = Viewer.of(corp_id, userid, role).visible()
    if visible is None or not wanted:
        return wanted
    return set(db.session.scalars(select(FollowRelation.external_userid).where(
        FollowRelation.corp_id == corp_id, FollowRelation.external_userid.in_(wanted),
        FollowRelation.status == RelationStatus.ACTIVE, FollowRelation.userid.in_(sorted(visible)))))


def can_view_group(corp_id: str, userid: str, group: GroupChat, role: Role | None = None) -> bool:
    """A group the member owns or is in, or one a member they see owns."""
    viewer = Viewer.of(corp_id, userid, role)
    if viewer.sees_one(group.owner):
        return True
    member = db.session.scalar(select(GroupMember.id).filter_by(
        corp_id=corp_id, chat_id=group.chat_id, member_id=userid, type=1, quit_time=None))
    return member is not None
