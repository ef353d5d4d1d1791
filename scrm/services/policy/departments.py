"""The department tree (Department.parent_id) and who belongs where (Staff.department_ids):
one query each, walked in Python (a corp has at most a few thousand departments and members)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Department, Staff


def names(corp_id: str) -> dict[int, str]:
    return {dept_id: name or str(dept_id) for dept_id, name in db.session.execute(
        select(Department.dept_id, Department.name).where(Department.corp_id == corp_id))}


def and_below(corp_id: str, roots: Iterable[int]) -> set[int]:
    """``roots`` and every department under them (one query; the walk stops at cycles)."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    for dept_id, parent_id in db.session.execute(
            select(Department.dept_id, Department.parent_id).where(
                Department.corp_id == corp_id, Department.deleted_at.is_(None))):
        if parent_id is not None:
            children[parent_id].append(dept_id)
    seen: set[int] = set()
    frontier = [int(d) for d in roots]
    while frontier:
        dept = frontier.pop()
        if dept in seen:
            continue
        seen.add(dept)
        frontier.extend(children.get(dept, ()))
    return seen


def members_of(corp_id: str, depts: set[int]) -> set[str]:
    """Members in any of ``depts`` (one query over the corp's staff). Members who have left are
    included: their customers wait for a handover their manager approves."""
    if not depts:
        return set()
    return {userid for userid, mine in db.session.execute(
        select(Staff.userid, Staff.department_ids).where(Staff.corp_id == corp_id))
        if depts.intersection(mine or [])}


def of_member(corp_id: str, userid: str) -> list[int]:
    return list(db.session.scalar(select(Staff.department_ids).filter_by(corp_id=corp_id, userid=userid)) or [])
