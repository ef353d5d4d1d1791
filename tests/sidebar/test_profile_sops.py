"""The profile's SOP summary: per enrollment its SOP's name, how many of its tasks were sent out
of all, and the earliest due time of those still pending (scrm/services/sop/results.summaries)."""
from __future__ import annotations

from datetime import datetime

from scrm.extensions import db
from scrm.models import Sop, SopEnrollment, SopStep, SopTask
from tests.api.factories import gen_customer, gen_relation, gen_staff
from tests.conftest import TEST_CORP_ID
from tests.sidebar.conftest import login

T0 = datetime(2026, 12, 1, 1, 0)


def _enroll(name: str, statuses: list[tuple[str, datetime]]) -> None:
    sop = Sop(corp_id=TEST_CORP_ID, name=name, conditions={})
    db.session.add(sop)
    db.session.flush()
    enrollment = SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop.id, userid="zhangsan", external_userid="wmC",
                               added_at=T0)
    db.session.add(enrollment)
    db.session.flush()
    for position, (status, due_at) in enumerate(statuses):
        step = SopStep(corp_id=TEST_CORP_ID, sop_id=sop.id, position=position, anchor="added", attachments=[],
                       delivery="reminder")
        db.session.add(step)
        db.session.flush()
        db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop.id, step_id=step.id, enrollment_id=enrollment.id,
                               userid="zhangsan", external_userid="wmC", delivery="reminder", due_at=due_at,
                               status=status))
    db.session.commit()


def test_the_profile_counts_each_enrollments_sent_tasks_and_names_the_next_pending_one(client):
    gen_staff(userid="zhangsan", name="张三")
    gen_relation(gen_customer(external_userid="wmC"), "zhangsan")
    _enroll("新客跟进", [("sent", T0), ("pending", datetime(2026, 12, 9)), ("pending", datetime(2026, 12, 3)),
                     ("skipped", datetime(2026, 12, 2))])
    _enroll("空流程", [])
    login(client, "zhangsan")
    resp = client.get("/sidebar/api/customers/wmC")
    assert resp.status_code == 200
    assert resp.get_json()["sops"] == [
        {"sop_id": resp.get_json()["sops"][0]["sop_id"], "name": "新客跟进", "status": "active", "userid": "zhangsan",
         "done": 1, "total": 4, "next_due_at": "2026-12-03T00:00:00Z"},
        {"sop_id": resp.get_json()["sops"][1]["sop_id"], "name": "空流程", "status": "active", "userid": "zhangsan",
         "done": 0, "total": 0, "next_due_at": None}]
