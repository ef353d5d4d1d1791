"""Who takes a leaver's customers over: the rules that propose successors.

* ``manager``: the leader of the leaver's department (WeCom's is_leader_in_dept; without one, a
  staff member given the SCRM role ``leader`` in that department), walking up the department tree;
  none found → the ``workload`` rule across the leaver's department.
* ``workload``: spread across a team (by default the leaver's department): each customer goes to
  the member with the fewest active customers so far, counting what this batch already gave them.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import Department, FollowRelation, RelationStatus, Staff, StaffRole


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
    """The leaver's manager: the leader of their department, or of the nearest department above."""
    leaver = db.session.scalar(select(Staff).filter_by(corp_id=corp_id, userid=userid))
    if leaver is None or not leaver.department_ids:
        return None
    depts = sorted(leaver.department_ids, key=lambda d: d != leaver.main_department)
    candidates = [s for s in active_staff(corp_id).values() if s.userid != userid]
    role_leaders = set(db.session.scalars(select(StaffRole.userid).where(
        StaffRole.corp_id == corp_id, StaffRole.role.in_(("leader", "admin")))))
    for dept in _departments_upwards(corp_id, depts):
        leaders = sorted(s.userid for s in candidates if _leads(s, dept))
        leaders = leaders or sorted(s.userid for s in candidates
                                    if s.userid in role_leaders and dept in (s.department_ids or []))
        if leaders:
            return leaders[0]
    return None


def default_team(corp_id: str, userid: str) -> list[str]:
    """The leaver's colleagues in their main department (all their departments if it has none)."""
    leaver = db.session.scalar(select(Staff).filter_by(corp_id=corp_id, userid=userid))
    depts = set(leaver.department_ids or []) if leaver else set()
    if leaver is not None and leaver.main_department in depts:
        depts = {leaver.main_department}
    return sorted(s.userid for s in active_staff(corp_id).values()
                  if s.userid != userid and depts & set(s.department_ids or []))


def workload(corp_id: str, team: list[str]) -> dict[str, int]:
    """Active customers per team member."""
    counts = dict(db.session.execute(
        select(FollowRelation.userid, func.count()).where(
            FollowRelation.corp_id == corp_id, FollowRelation.userid.in_(team),
            FollowRelation.status == RelationStatus.ACTIVE).group_by(FollowRelation.userid)).all())
    return {userid: counts.get(userid, 0) for userid in team}


def spread(corp_id: str, team: list[str], count: int) -> list[str]:
    """``count`` successors from ``team``, each to whoever has the fewest customers at that point."""
    if not team:
        return []
    heap = [(load, userid) for userid, load in workload(corp_id, team).items()]
    heapq.heapify(heap)
    out = []
    for _ in range(count):
        load, userid = heapq.heappop(heap)
        out.append(userid)
        heapq.heappush(heap, (load + 1, userid))
    return out
