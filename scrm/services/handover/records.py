"""What moves with a customer when a transfer completes: our own records follow the customer to
the successor, so their sidebar shows the whole history (native WeCom inheritance keeps only the
relation's corp tags and remark).

* the relation: the predecessor's is marked ``transferred``; the successor's is created from it
  (remark, description, mobiles, corp tags) when no callback brought it yet;
* follow-ups: every follow-up of the customer is shown to whoever follows them (they are per
  customer), each still under its author; the pending next-follow-up reminders of the
  predecessor go to the successor (``assignee_userid``);
* SOP progress: the predecessor's active enrollments and their pending steps continue under the
  successor (stopped as ``handed_over`` when the successor already runs that SOP for the customer);
* custom field values and the funnel stage are per customer, not per relation: nothing to move;
* the timeline gets a ``handed_over`` entry (who from, who to, which kind of handover).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from scrm.db import ensure_row
from scrm.extensions import db
from scrm.models import (
    EnrollmentStatus,
    FollowRelation,
    FollowUp,
    HandoverBatch,
    HandoverItem,
    HandoverKind,
    ItemStatus,
    RelationStatus,
    RelationTag,
    SopEnrollment,
    SopTask,
    Staff,
    TaskStatus,
)
from scrm.services import timeline

KIND_LABELS = {HandoverKind.RESIGNED: "离职继承", HandoverKind.ONJOB: "在职转接"}
COPIED = ("remark", "description", "remark_corp_name", "remark_mobiles", "state")


def complete(batch: HandoverBatch, item: HandoverItem, at: datetime, now: datetime) -> None:
    """The item's customer now follows the successor: mark it done and move our records (once).
    Runs in the caller's transaction (a job's, or a callback handler's): no commit here."""
    if item.moved_at is not None:
        return
    item.status, item.errcode, item.reason = ItemStatus.DONE, None, None
    item.finished_at, item.moved_at, item.next_check_at = now, now, None
    move_customer(batch.corp_id, batch.handover_userid, item.takeover_userid, item.target_id, at, now)
    names = dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == batch.corp_id, Staff.userid.in_((batch.handover_userid, item.takeover_userid)))).all())
    kind = KIND_LABELS.get(batch.kind, batch.kind)
    timeline.record(batch.corp_id, item.target_id, "handed_over", source="job", userid=item.takeover_userid,
                    occurred_at=at, summary=f"{kind}：由 {names.get(batch.handover_userid) or batch.handover_userid} "
                                            f"转交给 {names.get(item.takeover_userid) or item.takeover_userid}",
                    data={"from": batch.handover_userid, "to": item.takeover_userid, "kind": batch.kind,
                          "batch_id": batch.id})


def move_customer(corp_id: str, handover: str, takeover: str, external_userid: str, at: datetime,
                  now: datetime) -> None:
    old = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=corp_id, userid=handover, external_userid=external_userid))
    new, created = ensure_row(FollowRelation, corp_id=corp_id, userid=takeover, external_userid=external_userid)
    if created or new.status != RelationStatus.ACTIVE:
        new.status, new.status_changed_at = RelationStatus.ACTIVE, at
        new.added_at, new.add_way, new.oper_userid = at, 202, takeover  # 202: 管理员/负责人分配
        new.transfer_fail_reason = None
        if old is not None:
            for name in COPIED:
                setattr(new, name, getattr(old, name))
            _copy_corp_tags(old, new)
    if old is not None and old.status == RelationStatus.ACTIVE:
        old.status, old.status_changed_at = RelationStatus.TRANSFERRED, at
    # Follow-up reminders still to come: to the successor. The author (userid) stays.
    db.session.execute(update(FollowUp).where(
        FollowUp.corp_id == corp_id, FollowUp.external_userid == external_userid,
        FollowUp.reminder_status == "pending",
        or_(FollowUp.assignee_userid == handover, (FollowUp.assignee_userid.is_(None)) & (FollowUp.userid == handover)))
        .values(assignee_userid=takeover).execution_options(synchronize_session=False))
    _move_sops(corp_id, handover, takeover, external_userid, now)


def _copy_corp_tags(old: FollowRelation, new: FollowRelation) -> None:
    have = set(db.session.scalars(select(RelationTag.tag_key).filter_by(
        corp_id=new.corp_id, userid=new.userid, external_userid=new.external_userid)))
    for tag in db.session.scalars(select(RelationTag).filter_by(
            corp_id=old.corp_id, userid=old.userid, external_userid=old.external_userid)):
        if tag.type != 2 and tag.tag_key not in have:  # personal tags stay with their owner, as in WeCom
            db.session.add(RelationTag(corp_id=new.corp_id, userid=new.userid, external_userid=new.external_userid,
                                       tag_key=tag.tag_key, tag_id=tag.tag_id, tag_name=tag.tag_name,
                                       group_name=tag.group_name, type=tag.type))


def _move_sops(corp_id: str, handover: str, takeover: str, external_userid: str, now: datetime) -> None:
    enrollments = list(db.session.scalars(select(SopEnrollment).filter_by(
        corp_id=corp_id, userid=handover, external_userid=external_userid, status=EnrollmentStatus.ACTIVE)))
    if not enrollments:
        return
    taken = set(db.session.scalars(select(SopEnrollment.sop_id).filter_by(
        corp_id=corp_id, userid=takeover, external_userid=external_userid)))
    for enrollment in enrollments:
        pending = (SopTask.enrollment_id == enrollment.id, SopTask.status == TaskStatus.PENDING)
        if enrollment.sop_id in taken:
            enrollment.status, enrollment.stop_reason, enrollment.ended_at = (
                EnrollmentStatus.STOPPED, "handed_over", now)
            db.session.execute(update(SopTask).where(*pending).values(
                status=TaskStatus.SKIPPED, result="handed_over", finished_at=now)
                .execution_options(synchronize_session=False))
            continue
        enrollment.userid = takeover
        db.session.execute(update(SopTask).where(*pending).values(userid=takeover)
                           .execution_options(synchronize_session=False))
