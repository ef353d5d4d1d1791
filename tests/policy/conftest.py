"""A corp with a department tree, members in each, and data owned by each, for the policy tests.

    1 总部
    ├── 2 A        mgr_a (leads A), sales_a, sales_a2
    │   └── 3 A1   sales_a1
    └── 4 B        mgr_b (leads B), sales_b
    op (总部, role operator), boss (总部, role admin)

Each sales member follows one customer (cust_<userid>) and owns one group (grp_<userid>);
cust_shared is followed by sales_a and sales_b.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    ChurnAlert,
    Customer,
    Department,
    FollowRelation,
    FollowUp,
    GroupChat,
    HandoverBatch,
    RelationStatus,
    Staff,
    StaffRole,
    WelcomeMessage,
)
from scrm.services.console import sessions
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token

SALES = ("sales_a", "sales_a2", "sales_a1", "sales_b")
DEPT_OF = {"mgr_a": 2, "sales_a": 2, "sales_a2": 2, "sales_a1": 3, "mgr_b": 4, "sales_b": 4, "op": 1, "boss": 1}
LEADERS = {"mgr_a", "mgr_b"}
IN_A = {"sales_a", "sales_a2", "sales_a1"}  # what mgr_a sees (A and A1)


def _seed() -> None:
    now = utcnow()
    for dept_id, name, parent in ((1, "总部", None), (2, "A", 1), (3, "A1", 2), (4, "B", 1)):
        db.session.add(Department(corp_id=TEST_CORP_ID, dept_id=dept_id, name=name, parent_id=parent))
    for userid, dept in DEPT_OF.items():
        db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=userid, status=1, department_ids=[dept],
                             main_department=dept, is_leader_in_dept=[1 if userid in LEADERS else 0]))
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="op", role="operator", data_scope="corp"))
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="boss", role="admin", data_scope="corp"))
    followers = {f"cust_{u}": [u] for u in SALES} | {"cust_shared": ["sales_a", "sales_b"]}
    event_id = 0
    for external_userid, users in followers.items():
        db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=external_userid, name=external_userid))
        for userid in users:
            event_id += 1
            db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                                          status=RelationStatus.ACTIVE, added_at=now - timedelta(days=1)))
            db.session.add(FollowUp(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                                    kind="note", content="跟进"))
            db.session.add(WelcomeMessage(corp_id=TEST_CORP_ID, event_id=event_id, userid=userid,
                                          external_userid=external_userid, status="sent", received_at=now))
    for userid in SALES:
        db.session.add(GroupChat(corp_id=TEST_CORP_ID, chat_id=f"grp_{userid}", name=f"群{userid}", owner=userid,
                                 status="active"))
        db.session.add(ChurnAlert(corp_id=TEST_CORP_ID, kind="dormant", recipient_userid=userid, about_userid=userid,
                                  dedupe_key=f"k-{userid}"))
        db.session.add(HandoverBatch(corp_id=TEST_CORP_ID, kind="onjob", handover_userid=userid, rule="manual"))
    db.session.commit()


@pytest.fixture
def corp(app):
    _seed()
    return TEST_CORP_ID


def sign_in(client, userid: str) -> str:
    """A console session for ``userid`` (as WeCom's web login would start it); the page's CSRF token."""
    client.delete_cookie("scrm_console", path="/console")
    token, _ = sessions.start_staff(TEST_CORP_ID, userid, 0)
    client.set_cookie("scrm_console", token, path="/console")
    return page_token(client)


def ids(resp, key: str) -> set[str]:
    assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:300])
    return {item[key] for item in resp.get_json()}
