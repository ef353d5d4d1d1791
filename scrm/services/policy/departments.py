"""The department tree (Department.parent_id) and who belongs where (Staff.department_ids):
one query each, walked in Python (a corp has at most a few thousand departments and members)."""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, select

from scrm.extensions import core_execute, db
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


def members_of(corp_id: str, depts: set[int], among: Iterable[str] | None = None) -> set[str]:
    """Members in any of ``depts`` (one query). Members who have left are included: their
    customers wait for a handover their manager approves. ``among``: only these userids are
    asked about (the sidebar's check of a customer's few followers reads their rows, not the
    corp's thousands of members)."""
    if not depts:
        return set()
    if among is None:
        rows = db.session.execute(select(Staff.userid, Staff.department_ids).where(Staff.corp_id == corp_id))
    else:
        wanted = sorted(set(among))
        if not wanted:
            return set()
        rows = core_execute(_AMONG_QUERY(), {"corp_id": corp_id, "userids": wanted})
    return {userid for userid, mine in rows if depts.intersection(mine or [])}


_AMONG_QUERY = functools.cache(lambda: select(Staff.userid, Staff.department_ids).where(
    Staff.corp_id == bindparam("corp_id"), Staff.userid.in_(bindparam("userids", expanding=True))))


def of_member(corp_id: str, userid: str) -> list[int]:
    return list(db.session.scalar(select(Staff.department_ids).filter_by(corp_id=corp_id, userid=userid)) or [])
