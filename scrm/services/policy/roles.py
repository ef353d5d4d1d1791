"""Roles and data scopes: what a member is (admin, manager, operator, sales) and whose data they
see (self, their departments and below, the whole corp).

A StaffRole row sets them; without one a member gets a default from WeCom: a department leader
(Staff.is_leader_in_dept) is a manager with scope ``department``, anyone else sales with scope
``self``. An admin's scope is always the whole corp.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, select

from scrm.extensions import core_execute, db
from scrm.models import DataScope, RoleName, Staff, StaffRole
from scrm.services.policy import departments

ADMIN, MANAGER, OPERATOR, SALES = (RoleName.ADMIN.value, RoleName.MANAGER.value, RoleName.OPERATOR.value,
                                   RoleName.SALES.value)
ROLES = (ADMIN, MANAGER, OPERATOR, SALES)
SCOPES = (DataScope.SELF.value, DataScope.DEPARTMENT.value, DataScope.CORP.value)
# The scope a role gets when none is given.
NATURAL_SCOPE = {ADMIN: DataScope.CORP.value, MANAGER: DataScope.DEPARTMENT.value,
                 OPERATOR: DataScope.CORP.value, SALES: DataScope.SELF.value}
ROLE_LABELS = {ADMIN: "管理员", MANAGER: "主管", OPERATOR: "运营", SALES: "销售"}
SCOPE_LABELS = {"self": "本人", "department": "本部门及下级部门", "corp": "全公司"}


@dataclass(frozen=True)
class Role:
    role: str
    data_scope: str
    can_view_mobile: bool = False
    is_default: bool = False  # no StaffRole row: derived from WeCom's department leaders

    @property
    def scope(self) -> str:
        """The effective data scope (an admin's is the whole corp)."""
        return DataScope.CORP.value if self.role == ADMIN else str(self.data_scope)


ADMINISTRATOR = Role(ADMIN, DataScope.CORP.value, True)  # a local administrator (console)


def leads_a_department(is_leader_in_dept: list | None) -> bool:
    return any(flag == 1 for flag in is_leader_in_dept or [])


def default_role(is_leader: bool) -> Role:
    if is_leader:
        return Role(MANAGER, DataScope.DEPARTMENT.value, False, is_default=True)
    return Role(SALES, DataScope.SELF.value, False, is_default=True)


def _from_row(row: StaffRole) -> Role:
    return Role(row.role, row.data_scope, bool(row.can_view_mobile))


@functools.cache
def role_query() -> Select:
    # Built once (every sidebar request asks; the profile in one batch with its other reads,
    # scrm/services/profile/reads.py), bound per call. role_of() reads its row.
    return (select(StaffRole.id, StaffRole.role, StaffRole.data_scope, StaffRole.can_view_mobile,
                   Staff.is_leader_in_dept)
            .select_from(Staff)
            .outerjoin(StaffRole, and_(StaffRole.corp_id == Staff.corp_id, StaffRole.userid == Staff.userid))
            .where(Staff.corp_id == bindparam("corp_id"), Staff.userid == bindparam("userid")))


def role_of(corp_id: str, userid: str) -> Role:
    # One read for a synced member (every sidebar request asks): their role row, if any, with
    # their leader flags; a role set before the member's first sync is read on its own.
    return role_from_row(corp_id, userid, core_execute(role_query(), {"corp_id": corp_id, "userid": userid}).first())


def role_from_row(corp_id: str, userid: str, found: Any) -> Role:
    """role_of() from role_query()'s row (None: the member is not synced yet)."""
    if found is None:
        row = db.session.scalar(select(StaffRole).filter_by(corp_id=corp_id, userid=userid))
        return _from_row(row) if row is not None else default_role(False)
    role_id, role, scope, can_view_mobile, leader = found
    if role_id is not None:
        return Role(role, scope, bool(can_view_mobile))
    return default_role(leads_a_department(leader))


def members(corp_id: str) -> list[dict[str, Any]]:
    """Every member who has not left, with their departments and effective role (two queries)."""
    rows = {r.userid: r for r in db.session.scalars(select(StaffRole).filter_by(corp_id=corp_id))}
    names = departments.names(corp_id)
    out = []
    for staff in db.session.scalars(select(Staff).where(Staff.corp_id == corp_id, Staff.left_at.is_(None))
                                    .order_by(Staff.userid)):
        row = rows.get(staff.userid)
        role = _from_row(row) if row else default_role(leads_a_department(staff.is_leader_in_dept))
        out.append({"userid": staff.userid, "name": staff.name or staff.userid,
                    "departments": [names.get(d, str(d)) for d in staff.department_ids or []],
                    "leader": leads_a_department(staff.is_leader_in_dept), "role": role.role,
                    "data_scope": role.scope, "can_view_mobile": role.can_view_mobile,
                    "is_default": role.is_default})
    return out
