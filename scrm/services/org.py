"""Who is who in the corp's org tree: members who are still here, and a member's manager.

Shared by the handovers (the "manager" successor rule) and the churn alerts (a member's manager
hears when their customers delete them); it reads only the synced staff and departments.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Department, Staff, StaffRole


def active_staff(corp_id: str, userids: Iterable[str] | None = None) -> dict[str, Staff]:
    """Members who can take customers over: not left, not disabled."""
    query = select(Staff).where(Staff.corp_id == corp_id, Staff.left_at.is_(None))
    if userids is not None:
        query = query.where(Staff.userid.in_(list(userids)))
    return {s.userid: s for s in db.session.scalars(query) if s.status in (None, 1)}


def _leads(staff: Staff, dept_id: int) -> bool:
    depts, flags = staff.department_ids or [], staff.is_leader_in_dept or []
    return any(d == dept_id and i < len(flags) and flags[i] == 1 for i, d in enumerate(depts))


def _departments_upwards(corp_id: str, start: list[int]) -> list[int]:
    parents = dict(db.session.execute(select(Department.dept_id, Department.parent_id).where(
        Department.corp_id == corp_id)).all())
    out: list[int] = []
    frontier = list(start)
    while frontier:
        dept = frontier.pop(0)
        if dept in out:
            continue
        out.append(dept)
        parent = parents.get(dept)
        if parent:
            frontier.append(parent)
    return out


def manager_of(corp_id: str, userid: str) -> str | None:
    """A member's manager: the leader of their department, or of the nearest department above
    (WeCom's is_leader_in_dept; without one, a member with the SCRM role manager or admin in that
    department). None when nobody else leads any of them."""
    leaver = db.session.scalar(select(Staff).filter_by(corp_id=corp_id, userid=userid))
    if leaver is None or not leaver.department_ids:
        return None
    depts = sorted(leaver.department_ids, key=lambda d: d != leaver.main_department)
    candidates = [s for s in active_staff(corp_id).values() if s.userid != userid]
    role_leaders = set(db.session.scalars(select(StaffRole.userid).where(
        StaffRole.corp_id == corp_id, StaffRole.role.in_(("manager", "admin")))))
    for dept in _departments_upwards(corp_id, depts):
        leaders = sorted(s.userid for s in candidates if _leads(s, dept))
        leaders = leaders or sorted(s.userid for s in candidates
                                    if s.userid in role_leaders and dept in (s.department_ids or []))
        if leaders:
            return leaders[0]
    return None
