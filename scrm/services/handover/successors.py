"""Who takes a leaver's customers over: the rules that propose successors.

* ``manager``: the leader of the leaver's department (WeCom's is_leader_in_dept; without one, a
  staff member given the SCRM role ``manager`` in that department), walking up the department tree;
  none found → the ``workload`` rule across the leaver's department.
* ``workload``: spread across a team (by default the leaver's department): each customer goes to
  the member with the fewest active customers so far, counting what this batch already gave them.
"""
from __future__ import annotations

import heapq

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import FollowRelation, RelationStatus, Staff
from scrm.services.org import active_staff, manager_of

__all__ = ["active_staff", "default_team", "manager_of", "spread", "workload"]


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
