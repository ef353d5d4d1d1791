"""When an SOP's steps run: due times, task rows, enrollment on add, and the `sop-steps` sweep.

A task row per (enrollment, step) holds its ``due_at``; enrollment happens when a relation is
added (``enroll_on_add``), a customer date set later schedules the steps anchored to it, and the
sweep turns due tasks (and due result checks) into jobs on the ``messages`` queue.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select, update

from scrm.clock import utcnow
from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import (
    ChannelAdd,
    CustomerDate,
    EnrollmentStatus,
    FollowRelation,
    RelationStatus,
    RelationTag,
    Sop,
    SopEnrollment,
    SopStatus,
    SopStep,
    SopTask,
    TaskStatus,
)
from scrm.queueing import enqueue
from scrm.services import localtime, timeline

INTERRUPTED_AFTER = timedelta(minutes=10)  # a task RUNNING this long lost its worker: failed
SWEEP_BATCH = 1000
RUN_TASK_JOB, CHECK_TASK_JOB = "jobs.sop.run_task", "jobs.sop.check_task"


def steps_of(sop_ids: list[int]) -> dict[int, list[SopStep]]:
    result: dict[int, list[SopStep]] = {sop_id: [] for sop_id in sop_ids}
    for step in db.session.scalars(select(SopStep).where(SopStep.sop_id.in_(sop_ids), SopStep.deleted.is_(False))
                                   .order_by(SopStep.position, SopStep.id)):
        result[step.sop_id].append(step)
    return result


def close_tasks(condition, status: TaskStatus, reason: str, now: datetime) -> None:
    db.session.execute(update(SopTask).where(condition, SopTask.status == TaskStatus.PENDING)
                       .values(status=status, error=reason, finished_at=now))


# ---- when a step is due ----------------------------------------------------------------------

def due_at(step: SopStep, enrollment: SopEnrollment, dates: dict[str, date]) -> datetime | None:
    """When this step runs for this enrollment (naive UTC), or None when it can't run (its
    customer date is not set, or a one-off date is already past)."""
    if step.anchor == "added":
        if step.delay_minutes is not None:
            return enrollment.added_at + timedelta(minutes=step.delay_minutes)
        base = localtime.to_local(enrollment.added_at).date()
        return localtime.at_local(base + timedelta(days=step.day_offset or 0), step.at_time or "09:00")
    value = dates.get(step.date_key or "")
    if value is None:
        return None
    start = localtime.to_local(enrollment.added_at).date()
    if step.yearly:
        candidate = _anniversary(value, start.year)
        if candidate + timedelta(days=step.day_offset or 0) < start:
            candidate = _anniversary(value, start.year + 1)
        value = candidate
    when = localtime.at_local(value + timedelta(days=step.day_offset or 0), step.at_time or "09:00")
    return when if when >= enrollment.added_at else None


def _anniversary(value: date, year: int) -> date:
    try:
        return value.replace(year=year)
    except ValueError:  # 29 February in a common year
        return value.replace(year=year, day=28)


def _customer_dates(corp_id: str, external_userid: str) -> dict[str, date]:
    return dict(db.session.execute(select(CustomerDate.key, CustomerDate.value).filter_by(
        corp_id=corp_id, external_userid=external_userid)).all())


def _create_tasks(enrollment: SopEnrollment, steps: list[SopStep], not_before: datetime | None = None) -> int:
    dates = _customer_dates(enrollment.corp_id, enrollment.external_userid)
    created = 0
    for step in steps:
        when = due_at(step, enrollment, dates)
        if when is None or (not_before is not None and when < not_before):
            continue
        created += insert_ignoring_conflict(SopTask, dict(
            corp_id=enrollment.corp_id, sop_id=enrollment.sop_id, step_id=step.id, enrollment_id=enrollment.id,
            userid=enrollment.userid, external_userid=enrollment.external_userid, delivery=step.delivery,
            due_at=when, status=TaskStatus.PENDING, attempts=0, created_at=utcnow()))
    return created


def reschedule(sop: Sop, changed: list[SopStep], added: list[SopStep], now: datetime) -> None:
    enrollments = list(db.session.scalars(select(SopEnrollment).filter_by(
        sop_id=sop.id, status=EnrollmentStatus.ACTIVE)))
    by_step = {step.id: step for step in changed}
    for enrollment in enrollments:
        dates = _customer_dates(enrollment.corp_id, enrollment.external_userid)
        pending = db.session.scalars(select(SopTask).where(
            SopTask.enrollment_id == enrollment.id, SopTask.status == TaskStatus.PENDING,
            SopTask.step_id.in_(list(by_step))))
        for task in pending:
            step = by_step[task.step_id]
            when = due_at(step, enrollment, dates)
            if when is None:
                task.status, task.error, task.finished_at = TaskStatus.CANCELLED, "no longer schedulable", now
            else:
                task.due_at, task.delivery = when, step.delivery
        # A changed step that had no task (its date was missing) may be schedulable now.
        _create_tasks(enrollment, changed + added, not_before=now)


def set_customer_date(corp_id: str, external_userid: str, key: str, value: date | None,
                      now: datetime | None = None) -> None:
    """Set (or clear, with None) a customer date and schedule the steps anchored to it."""
    now = now or utcnow()
    row = db.session.scalar(select(CustomerDate).filter_by(corp_id=corp_id, external_userid=external_userid, key=key))
    if value is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(CustomerDate(corp_id=corp_id, external_userid=external_userid, key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    enrollments = list(db.session.scalars(select(SopEnrollment).filter_by(
        corp_id=corp_id, external_userid=external_userid, status=EnrollmentStatus.ACTIVE)))
    for enrollment in enrollments:
        steps = [s for s in steps_of([enrollment.sop_id])[enrollment.sop_id]
                 if s.anchor == "date" and s.date_key == key]
        if not steps:
            continue
        close_tasks(and_(SopTask.enrollment_id == enrollment.id, SopTask.step_id.in_([s.id for s in steps])),
                     TaskStatus.CANCELLED, "customer date changed", now)
        # the unique (enrollment, step) row is reused: reopen it with the new time
        dates = _customer_dates(corp_id, external_userid)
        for step in steps:
            when = due_at(step, enrollment, dates)
            task = db.session.scalar(select(SopTask).filter_by(enrollment_id=enrollment.id, step_id=step.id))
            if when is None or when < now:
                continue
            if task is None:
                _create_tasks(enrollment, [step], not_before=now)
            elif task.status == TaskStatus.CANCELLED:
                task.status, task.due_at, task.error, task.finished_at = TaskStatus.PENDING, when, None, None
    db.session.commit()


# ---- enrollment on add -----------------------------------------------------------------------

def relation_facts(corp_id: str, userid: str, external_userid: str) -> tuple[set[int], set[str]]:
    channels = set(db.session.scalars(select(ChannelAdd.channel_id).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid)))
    tags = set(db.session.scalars(select(RelationTag.tag_id).where(
        RelationTag.corp_id == corp_id, RelationTag.userid == userid,
        RelationTag.external_userid == external_userid, RelationTag.tag_id.is_not(None))))
    return channels, tags


def matches(conditions: dict, userid: str, channels: set[int], tags: set[str]) -> bool:
    if conditions.get("userids") and userid not in conditions["userids"]:
        return False
    if conditions.get("channel_ids") and not channels & set(conditions["channel_ids"]):
        return False
    return not (conditions.get("tag_ids") and not tags & set(conditions["tag_ids"]))


def enroll_on_add(corp_id: str, userid: str, external_userid: str, added_at: datetime) -> list[int]:
    """Enroll a new relation in every active SOP it matches (the caller commits). Idempotent:
    one enrollment per SOP and relation. Returns the SOP ids enrolled now."""
    sops = list(db.session.scalars(select(Sop).filter_by(corp_id=corp_id, status=SopStatus.ACTIVE)))
    if not sops:
        return []
    channels, tags = relation_facts(corp_id, userid, external_userid)
    enrolled = []
    steps = steps_of([sop.id for sop in sops])
    for sop in sops:
        if not matches(sop.conditions or {}, userid, channels, tags) or not steps[sop.id]:
            continue
        if not insert_ignoring_conflict(SopEnrollment, dict(
                corp_id=corp_id, sop_id=sop.id, userid=userid, external_userid=external_userid,
                added_at=added_at, status=EnrollmentStatus.ACTIVE, created_at=utcnow())):
            continue
        enrollment = db.session.scalars(select(SopEnrollment).filter_by(
            sop_id=sop.id, userid=userid, external_userid=external_userid)).one()
        _create_tasks(enrollment, steps[sop.id])
        enrolled.append(sop.id)
        timeline.record(corp_id, external_userid, "sop_enrolled", source="job", userid=userid,
                        summary=sop.name, data={"sop_id": sop.id})
    return enrolled


# ---- the sweep -------------------------------------------------------------------------------

def sweep(now: datetime | None = None) -> int:
    """Stop enrollments of lost relations, fail tasks whose worker died, enqueue due tasks and
    due result checks. Returns the number of jobs enqueued."""
    now = now or utcnow()
    _stop_lost(now)
    db.session.execute(update(SopTask).where(
        SopTask.status == TaskStatus.RUNNING, SopTask.started_at < now - INTERRUPTED_AFTER)
        .values(status=TaskStatus.FAILED, error="interrupted (never retried: a step runs at most once)",
                finished_at=now))
    db.session.commit()
    due = db.session.scalars(
        select(SopTask.id).join(Sop, Sop.id == SopTask.sop_id)
        .where(SopTask.status == TaskStatus.PENDING, SopTask.due_at <= now, Sop.status == SopStatus.ACTIVE)
        .order_by(SopTask.due_at, SopTask.id).limit(SWEEP_BATCH)).all()
    checks = db.session.scalars(
        select(SopTask.id).where(SopTask.status == TaskStatus.AWAITING, SopTask.next_check_at <= now)
        .order_by(SopTask.next_check_at).limit(SWEEP_BATCH)).all()
    as_of = now.isoformat()
    queued = 0
    for task_id in due:
        queued += enqueue(RUN_TASK_JOB, task_id, as_of, queue="messages",
                          job_id=f"sop-task-{task_id}", unique=True) is not None
    for task_id in checks:
        queued += enqueue(CHECK_TASK_JOB, task_id, as_of, queue="messages",
                          job_id=f"sop-check-{task_id}", unique=True) is not None
    return queued


def _stop_lost(now: datetime) -> None:
    lost = select(SopEnrollment.id).where(
        SopEnrollment.status == EnrollmentStatus.ACTIVE,
        exists().where(FollowRelation.corp_id == SopEnrollment.corp_id,
                       FollowRelation.userid == SopEnrollment.userid,
                       FollowRelation.external_userid == SopEnrollment.external_userid,
                       FollowRelation.status != RelationStatus.ACTIVE))
    ids = db.session.scalars(lost).all()
    if ids:
        stop_enrollments(ids, "relation_lost", now)


def stop_enrollments(enrollment_ids: list[int], reason: str, now: datetime) -> None:
    db.session.execute(update(SopEnrollment).where(SopEnrollment.id.in_(enrollment_ids))
                       .values(status=EnrollmentStatus.STOPPED, stop_reason=reason, ended_at=now))
    close_tasks(SopTask.enrollment_id.in_(enrollment_ids), TaskStatus.SKIPPED, reason, now)
