"""Rows for the handover tests: a department of staff with customers."""
from __future__ import annotations

from scrm.extensions import db
from scrm.models import Customer, FollowRelation, Staff
from tests.conftest import TEST_CORP_ID


def staff(userid: str, dept: int = 6, *, leader: bool = False, left: bool = False, customers: int = 0) -> list[str]:
    """A member of ``dept`` following ``customers`` new customers (their external_userids)."""
    from scrm.clock import utcnow

    db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=userid.upper(), status=1, department_ids=[dept],
                         main_department=dept, is_leader_in_dept=[int(leader)], left_at=utcnow() if left else None))
    ids = [f"wm{userid}{n:04d}" for n in range(customers)]
    for ext in ids:
        db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=ext, name=f"客户{ext[-4:]}"))
        db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=ext, status="active",
                                      remark="老客户"))
    db.session.commit()
    return ids
