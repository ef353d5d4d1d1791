"""What moves with a customer when the transfer completes (transfer_result status 1): SOP progress,
next-follow-up reminders, the relation with its corp tags; what stays: authorship, sent steps."""
from __future__ import annotations

from datetime import timedelta

import responses
from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    FollowRelation,
    FollowUp,
    RelationTag,
    Sop,
    SopEnrollment,
    SopStep,
    SopTask,
    TimelineEntry,
)
from scrm.services import handover, profile
from tests.conftest import TEST_CORP_ID
from tests.handover.support import staff
from tests.helpers import run_jobs
from tests.welcome.support import OK, bodies, url

C = TEST_CORP_ID


def _sop(name: str) -> tuple[Sop, SopStep, SopStep]:
    sop = Sop(corp_id=C, name=name, conditions={})
    db.session.add(sop)
    db.session.flush()
    steps = [SopStep(corp_id=C, sop_id=sop.id, position=n, anchor="added", delay_minutes=n * 60, text=f"第{n}步",
                     attachments=[], delivery="reminder") for n in (1, 2)]
    db.session.add_all(steps)
    db.session.flush()
    return sop, steps[0], steps[1]


def _enroll(sop: Sop, userid: str, ext: str, steps: list[tuple[SopStep, str]]) -> SopEnrollment:
    enrollment = SopEnrollment(corp_id=C, sop_id=sop.id, userid=userid, external_userid=ext, added_at=utcnow())
    db.session.add(enrollment)
    db.session.flush()
    for step, status in steps:
        db.session.add(SopTask(corp_id=C, sop_id=sop.id, step_id=step.id, enrollment_id=enrollment.id, userid=userid,
                               external_userid=ext, delivery="reminder", due_at=utcnow(), status=status))
    return enrollment


def test_the_successor_inherits_sop_progress_reminders_and_tags(app, api, wecom):
    staff("boss", leader=True)
    [ext, shared] = staff("mover", customers=2)
    db.session.add(FollowRelation(corp_id=C, userid="boss", external_userid=shared, status="active"))
    db.session.add_all([
        RelationTag(corp_id=C, userid="mover", external_userid=ext, tag_key="etVIP", tag_id="etVIP",
                    tag_name="VIP", group_name="等级", type=1),
        RelationTag(corp_id=C, userid="mover", external_userid=ext, tag_key="personal:熟人", tag_name="熟人", type=2)])
    welcome, step1, step2 = _sop("新客培育")
    moving = _enroll(welcome, "mover", ext, [(step1, "sent"), (step2, "pending")])
    duplicate = _enroll(welcome, "mover", shared, [(step2, "pending")])
    _enroll(welcome, "boss", shared, [(step2, "pending")])
    note = FollowUp(corp_id=C, userid="mover", external_userid=ext, kind="call", content="约了下周二拜访",
                    next_at=utcnow() + timedelta(hours=1), reminder_status="pending")
    db.session.add(note)
    db.session.commit()

    wecom.add(responses.POST, url("externalcontact/transfer_customer"), json={**OK, "customer": [
        {"external_userid": ext, "errcode": 0}, {"external_userid": shared, "errcode": 0}]})
    wecom.add(responses.POST, url("externalcontact/transfer_result"), json={**OK, "customer": [
        {"external_userid": ext, "status": 1, "takeover_time": 1700000000},
        {"external_userid": shared, "status": 1, "takeover_time": 1700000000}], "next_cursor": ""})
    batch = api("POST", "/handovers", json={"handover_userid": "mover", "chat_ids": [], "rule": "manual",
                                            "takeover_userid": "boss"}).get_json()
    api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "boss"})
    run_jobs(app, ["messages"])
    handover.sweep(utcnow() + timedelta(minutes=31))
    run_jobs(app, ["messages"])
    db.session.expire_all()
    assert api("GET", f"/handovers/{batch['id']}").get_json()["status"] == "done"

    # SOP progress continues under the successor; what was sent stays the predecessor's.
    assert db.session.get(SopEnrollment, moving.id).userid == "boss"
    tasks = dict(db.session.execute(select(SopTask.status, SopTask.userid).filter_by(enrollment_id=moving.id)).all())
    assert tasks == {"sent": "mover", "pending": "boss"}
    stopped = db.session.get(SopEnrollment, duplicate.id)  # the successor already runs it for this customer
    assert (stopped.status, stopped.stop_reason) == ("stopped", "handed_over")

    # The relation moved with its corp tags (personal tags stay personal), the remark too.
    new = db.session.scalar(select(FollowRelation).filter_by(userid="boss", external_userid=ext))
    assert (new.status, new.remark, new.add_way) == ("active", "老客户", 202)
    assert set(db.session.scalars(select(RelationTag.tag_key).filter_by(userid="boss", external_userid=ext))) \
        == {"etVIP"}
    entry = db.session.scalar(select(TimelineEntry).filter_by(external_userid=ext, kind="handed_over"))
    assert entry.data == {"from": "mover", "to": "boss", "kind": "onjob", "batch_id": batch["id"]}

    # The next follow-up is now the successor's to be reminded of; its author is still the predecessor.
    wecom.add(responses.POST, url("message/send"), json={**OK, "msgid": "m1"})
    assert profile.remind_due_follow_ups(utcnow() + timedelta(hours=2)) == 1
    assert [b["touser"] for b in bodies(wecom, "message/send")] == ["boss"]
    assert db.session.get(FollowUp, note.id).userid == "mover"
