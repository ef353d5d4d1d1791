"""The member conditions every report applies to its aggregate rows: the viewer's data scope (the
members they may see), a department and the departments below it, one member."""
from __future__ import annotations

from scrm.services.policy import departments


def members_filter(rows, corp_id: str, *, visible: frozenset[str] | None, department_id: int | None,
                   userid: str | None) -> list:
    """Conditions on ``rows`` (a model or a subquery's columns with userid and department_id)
    for the viewer's members (None: all), a department subtree, a member."""
    where = []
    if visible is not None:
        where.append(rows.userid.in_(sorted(visible)))
    if department_id is not None:
        where.append(rows.department_id.in_(sorted(departments.and_below(corp_id, [department_id]))))
    if userid is not None:
        where.append(rows.userid == userid)
    return where
