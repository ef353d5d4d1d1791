"""A hand-built history in Asia/Shanghai (the default SCRM_TIMEZONE) for the report tests.

Local days D1 2026-11-10, D2 11-11, D3 11-12; a local day starts at 16:00 UTC the day before, so
an event at 23:30 local belongs to its own day and one at 00:30 to the next.

    1 总部  boss (admin, corp scope)
    ├── 2 A   mgr_a (leads A), zhang
    │   └── 3 A1  li
    └── 4 B   mgr_b (leads B), wang

What each figure should be is worked out by hand in test_aggregate.py (EXPECTED).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from scrm.config import override
from scrm.extensions import db
from scrm.models import (
    ArchivedMessage,
    Customer,
    Department,
    FollowRelation,
    FollowUp,
    Recall,
    RecallPlaybook,
    SopEnrollment,
    SopTask,
    Staff,
    StaffBehaviorDay,
    StaffRole,
)
from scrm.models.sop import Sop, SopStep
from scrm.services import reports
from scrm.services.console import sessions
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token

SHANGHAI = timezone(timedelta(hours=8))
D0, D1, D2, D3 = date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)
OTHER_CORP = "wwothercorp000002"
DEPT_OF = {"boss": 1, "mgr_a": 2, "zhang": 2, "li": 3, "mgr_b": 4, "wang": 4}


def local(text: str) -> datetime:
    """'2026-11-10 23:30' Shanghai time → naive UTC (as rows store it)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def _relation(userid, external_userid, added, *, status="active", ended=None, corp_id=TEST_CORP_ID):
    db.session.add(FollowRelation(corp_id=corp_id, userid=userid, external_userid=external_userid,
                                  added_at=local(added), created_at=local(added), status=status,
                                  status_changed_at=local(ended) if ended else None))


def _follow_up(userid, external_userid, at, next_at=None):
    db.session.add(FollowUp(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid, kind="chat",
                            content="电话沟通", created_at=local(at), updated_at=local(at),
                            next_at=local(next_at) if next_at else None,
                            reminder_status="pending" if next_at else "none"))


_seq = iter(range(1, 10**9))


def _message(sender, to, at):
    n = next(_seq)
    db.session.add(ArchivedMessage(corp_id=TEST_CORP_ID, seq=n, msgid=f"msg{n}", action="send", from_id=sender,
                                   peer_id=to, msgtype="text", msgtime=local(at), body={"msgtype": "text"}))


def _seed_org():
    for dept_id, name, parent in ((1, "总部", None), (2, "A", 1), (3, "A1", 2), (4, "B", 1)):
        db.session.add(Department(corp_id=TEST_CORP_ID, dept_id=dept_id, name=name, parent_id=parent))
    for userid, dept in DEPT_OF.items():
        leader = 1 if userid in ("mgr_a", "mgr_b") else 0
        db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=f"名{userid}", status=1,
                             department_ids=[dept], main_department=dept, is_leader_in_dept=[leader]))
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="boss", role="admin", data_scope="corp"))
    for n in range(1, 8):
        db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=f"wmC{n}", name=f"客户{n}"))


def _seed_sop_and_recall():
    sop = Sop(corp_id=TEST_CORP_ID, name="新客跟进", conditions={})
    db.session.add(sop)
    db.session.flush()
    step = SopStep(corp_id=TEST_CORP_ID, sop_id=sop.id, position=1, anchor="added", delay_minutes=0,
                   delivery="reminder", text="您好", attachments=[])
    step2 = SopStep(corp_id=TEST_CORP_ID, sop_id=sop.id, position=2, anchor="added", delay_minutes=1440,
                    delivery="mass_send", text="您好", attachments=[])
    db.session.add_all([step, step2])
    enrollment = SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop.id, userid="zhang", external_userid="wmC1",
                               added_at=local("2026-11-01 10:00"))
    db.session.add(enrollment)
    db.session.flush()
    # a reminder due D1 23:30, sent from the sidebar D2 00:30; a mass send due D2 10:00, still awaiting
    db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop.id, step_id=step.id, enrollment_id=enrollment.id,
                           userid="zhang", external_userid="wmC1", delivery="reminder",
                           due_at=local("2026-11-10 23:30"), status="sent", sent_at=local("2026-11-10 23:30"),
                           sent_from_sidebar_at=local("2026-11-11 00:30")))
    db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop.id, step_id=step2.id, enrollment_id=enrollment.id,
                           userid="zhang", external_userid="wmC1", delivery="mass_send",
                           due_at=local("2026-11-11 10:00"), status="awaiting"))
    playbook = RecallPlaybook(corp_id=TEST_CORP_ID, name="沉睡召回", trigger="dormant", segment={},
                              action="reminder", text="好久不见", attachments=[])
    db.session.add(playbook)
    db.session.flush()
    # li's recall: due D3 10:00, the card went out, li never sent it
    db.session.add(Recall(corp_id=TEST_CORP_ID, playbook_id=playbook.id, relation_id=5, userid="li",
                          external_userid="wmC5", trigger="dormant", action="reminder",
                          entered_at=local("2026-11-12 04:30"), due_at=local("2026-11-12 10:00"), status="sent",
                          sent_at=local("2026-11-12 10:00")))


def seed_history():
    _seed_org()
    # zhang (A): two customers from before the range, one added D1 23:30, one D2 00:30
    _relation("zhang", "wmC1", "2026-11-01 10:00")
    _relation("zhang", "wmC4", "2026-11-05 09:00", status="deleted_by_staff", ended="2026-11-11 23:30")
    _relation("zhang", "wmC2", "2026-11-10 23:30")
    _relation("zhang", "wmC3", "2026-11-11 00:30", status="deleted_by_customer", ended="2026-11-12 09:00")
    _follow_up("zhang", "wmC1", "2026-11-10 23:30", next_at="2026-11-11 10:00")  # due D2, met only D3 00:30
    _follow_up("zhang", "wmC1", "2026-11-12 00:30", next_at="2026-11-12 08:00")  # due D3, never met
    _message("zhang", "wmC2", "2026-11-11 00:10")   # 40 minutes after the add: a first reply of D1
    _message("wmC3", "zhang", "2026-11-11 01:00")   # the customer wrote; zhang answered days later
    _message("zhang", "wmC3", "2026-11-13 09:00")
    # li (A1): one customer added D2 12:00
    _relation("li", "wmC5", "2026-11-11 12:00")
    # wang (B): a customer added D1 00:30, handed over D3 10:00; a follow-up without a next one
    _relation("wang", "wmC6", "2026-11-10 00:30", status="transferred", ended="2026-11-12 10:00")
    _follow_up("wang", "wmC6", "2026-11-10 08:00")
    # before the range: a relation added D0 23:59 (counted in the stock, not as new)
    _relation("wang", "wmC7", "2026-11-09 23:59")
    _seed_sop_and_recall()
    # WeCom's behaviour figures (China Standard Time days)
    db.session.add_all([
        StaffBehaviorDay(corp_id=TEST_CORP_ID, userid="zhang", day=D2, chat_cnt=4, message_cnt=10,
                         reply_percentage=50.0, avg_reply_time=6.0),
        StaffBehaviorDay(corp_id=TEST_CORP_ID, userid="zhang", day=D3, chat_cnt=2, message_cnt=4,
                         reply_percentage=100.0, avg_reply_time=3.0),
    ])
    # another corp's rows never count
    db.session.add(Staff(corp_id=OTHER_CORP, userid="zhang", name="别家", status=1, main_department=2))
    _relation("zhang", "wmX", "2026-11-10 12:00", corp_id=OTHER_CORP)
    db.session.commit()


@pytest.fixture
def reports_app(app):
    override(app, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None, CHURN_SCORING_AT=None, REPORTS_AT="05:00")
    return app


@pytest.fixture
def history(reports_app):
    seed_history()


def sign_in(client, userid: str) -> str:
    client.delete_cookie("scrm_console", path="/console")
    token, _ = sessions.start_staff(TEST_CORP_ID, userid, 0)
    client.set_cookie("scrm_console", token, path="/console")
    return page_token(client)


@pytest.fixture
def built(history):
    """The history aggregated over D1..D3."""
    reports.rebuild(TEST_CORP_ID, D1, D3)


@pytest.fixture
def get(client):
    """GET with a read token of the test corp."""
    token = create_token("bi", TEST_CORP_ID, scope="read")

    def _get(path: str, **params):
        return client.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"})
    return _get
