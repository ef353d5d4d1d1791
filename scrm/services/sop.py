"""Customer SOPs (客户SOP): follow-up sequences for new customers.

* **Enrollment** happens when a customer is added (the callbacks-queue add handler calls
  ``enroll_on_add``): every active SOP whose conditions hold for the new relation (channel,
  tags on the relation, staff) gets an enrollment and one ``SopTask`` row per step with its
  ``due_at``. An SOP created or widened later applies to later adds only (old customers' "+2 h"
  is long past); an SOP runs at most once per staff–customer relation.
* **Timing**: relative to the add (``delay_minutes``, or ``day_offset`` + local ``at_time``) or
  to a customer date (``CustomerDate``: birthday, contract end...; ``yearly`` for anniversaries).
  A date set later through the API schedules the steps anchored to it.
* **The sweep** (``sop-steps``, every minute, and ``flask scrm tick``) enqueues due tasks of
  active SOPs on the ``messages`` queue and result checks that are due; a job claims its task
  with ``UPDATE ... WHERE status='pending'``, so a step runs at most once. A task found more than
  STALE_AFTER past due (scheduler down, SOP paused meanwhile) is skipped, not sent late.
* **Stopping**: a task whose relation is no longer active, or whose customer no longer matches
  the conditions, is skipped and stops the enrollment (its other pending tasks are skipped);
  the sweep also stops enrollments of lost relations eagerly.
* **Edits** apply to steps not yet run: changed steps recompute their pending tasks' due_at,
  removed steps cancel them, new steps get tasks where still in the future. Pause keeps tasks
  pending; delete cancels them.
* **Delivery**: ``mass_send`` creates a WeCom 1:1 mass-send task for the staff member
  (`add_msg_template`, chat_type single) and tracks it (`get_groupmsg_task`, then
  `get_groupmsg_send_result`; 41063 = still being dispatched, checked again later); due tasks
  of one step and staff member whose content is the same for everyone (no ``{nickname}``) are
  claimed together and sent as one task, so the staff member confirms one mass send;
  ``reminder`` sends the staff member a `message/send` text card linking to the sidebar
  (``/sidebar/?sop_step=<task id>``), at most REMINDERS_PER_MINUTE per staff member.
"""
from __future__ import annotations

import html
import logging
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, select, update

from scrm.clock import from_timestamp, utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    ChannelAdd,
    Customer,
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
    Staff,
    TaskStatus,
)
from scrm.queueing import enqueue
from scrm.services import localtime, timeline
from scrm.services.channels import known_tags
from scrm.services.content import NICKNAME, render_text, validate_attachments, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.services.validation import raise_if
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=24)
INTERRUPTED_AFTER = timedelta(minutes=10)  # a task RUNNING this long lost its worker: failed
MAX_ATTEMPTS = 5  # retryable WeCom errors before a task fails
SWEEP_BATCH = 1000
REMINDERS_PER_MINUTE = 30  # message/send per app per member (PROTOCOL §3.8; excess is dropped)
FIRST_CHECK = timedelta(minutes=10)  # after add_msg_template: give the staff member time to send
DISPATCHING_RETRY = timedelta(minutes=1)  # 41063
MAX_CHECK_INTERVAL = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a mass-send task the staff member never sent
MASS_SEND_BATCH = 1000  # customers in one add_msg_template (WeCom takes up to 10,000)
SEND_RESULTS = {1: "sent", 2: "not_friend", 3: "quota_exceeded"}  # get_groupmsg_send_result status
OPEN = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.AWAITING)
STEP_FIELDS = ("name", "anchor", "date_key", "yearly", "delay_minutes", "day_offset", "at_time", "text",
               "attachments", "delivery")


# ---- operator CRUD ---------------------------------------------------------------------------

def _check(corp_id: str, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for index, step in enumerate(data.get("steps") or []):
        for key, messages in validate_attachments(corp_id, step.get("attachments") or []).items():
            errors[f"steps.{index}.{key}"] = messages
    tag_ids = (data.get("conditions") or {}).get("tag_ids") or []
    unknown = [t for t in tag_ids if t not in known_tags(corp_id, tag_ids)]
    if unknown:
        errors["conditions.tag_ids"] = [f"Unknown tag id(s): {', '.join(unknown)}."]
    raise_if(errors)


def create(corp_id: str, data: dict[str, Any]) -> Sop:
    _check(corp_id, data)
    sop = Sop(corp_id=corp_id, name=data["name"], conditions=_conditions(data.get("conditions")),
              status=SopStatus.PAUSED if data.get("paused") else SopStatus.ACTIVE)
    db.session.add(sop)
    db.session.flush()
    for position, step in enumerate(data["steps"]):
        db.session.add(_new_step(sop, position, step))
    db.session.commit()
    return sop


def _conditions(value: dict | None) -> dict:
    value = value or {}
    return {key: list(dict.fromkeys(value.get(key) or [])) for key in ("channel_ids", "tag_ids", "userids")}


def _new_step(sop: Sop, position: int, data: dict) -> SopStep:
    step = SopStep(corp_id=sop.corp_id, sop_id=sop.id, position=position, attachments=[])
    _apply_step(step, data)
    return step


TIMING_FIELDS = ("anchor", "date_key", "yearly", "delay_minutes", "day_offset", "at_time")


def _apply_step(step: SopStep, data: dict) -> None:
    if any(key in data for key in TIMING_FIELDS):  # the time is replaced as a whole, never mixed
        step.date_key = step.delay_minutes = step.day_offset = step.at_time = None
        step.yearly = False
    for key in STEP_FIELDS:
        if key in data:
            setattr(step, key, data[key])
    step.attachments = step.attachments or []
    step.yearly = bool(step.yearly)


def get(corp_id: str, sop_id: int) -> Sop | None:
    sop = db.session.get(Sop, sop_id)
    return sop if sop and sop.corp_id == corp_id and sop.status != SopStatus.DELETED else None


def steps_of(sop_ids: list[int]) -> dict[int, list[SopStep]]:
    result: dict[int, list[SopStep]] = {sop_id: [] for sop_id in sop_ids}
    for step in db.session.scalars(select(SopStep).where(SopStep.sop_id.in_(sop_ids), SopStep.deleted.is_(False))
                                   .order_by(SopStep.position, SopStep.id)):
        result[step.sop_id].append(step)
    return result


def update_sop(sop: Sop, data: dict[str, Any], now: datetime | None = None) -> Sop:
    """Edit name/conditions and (when given) the whole step list: a step with an ``id`` is
    kept and changed, one without is new, a missing one is removed. Only tasks not yet run change."""
    now = now or utcnow()
    _check(sop.corp_id, data)
    if "name" in data:
        sop.name = data["name"]
    if "conditions" in data:
        sop.conditions = _conditions(data["conditions"])
    if "steps" in data:
        current = {step.id: step for step in steps_of([sop.id])[sop.id]}
        unknown = [s["id"] for s in data["steps"] if s.get("id") is not None and s["id"] not in current]
        if unknown:
            raise_if({"steps": [f"Step {unknown[0]} is not a step of this SOP."]})
        kept: set[int] = set()
        changed: list[SopStep] = []
        added: list[SopStep] = []
        for position, item in enumerate(data["steps"]):
            step = current.get(item.get("id"))
            if step is None:
                step = _new_step(sop, position, item)
                db.session.add(step)
                added.append(step)
                continue
            kept.add(step.id)
            step.position = position
            _apply_step(step, item)
            changed.append(step)
        removed = [step_id for step_id in current if step_id not in kept]
        if removed:
            db.session.execute(update(SopStep).where(SopStep.id.in_(removed)).values(deleted=True))
            _close_tasks(SopTask.step_id.in_(removed), TaskStatus.CANCELLED, "step removed", now)
        db.session.flush()
        _reschedule(sop, changed, added, now)
    db.session.commit()
    return sop


def set_status(sop: Sop, status: SopStatus, now: datetime | None = None) -> Sop:
    now = now or utcnow()
    sop.status = status
    if status == SopStatus.DELETED:
        _close_tasks(and_(SopTask.sop_id == sop.id, SopTask.status == TaskStatus.PENDING),
                     TaskStatus.CANCELLED, "SOP deleted", now)
        db.session.execute(update(SopEnrollment).where(
            SopEnrollment.sop_id == sop.id, SopEnrollment.status == EnrollmentStatus.ACTIVE)
            .values(status=EnrollmentStatus.STOPPED, stop_reason="sop_deleted", ended_at=now))
    db.session.commit()
    return sop


def _close_tasks(condition, status: TaskStatus, reason: str, now: datetime) -> None:
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
    from scrm.services.events.common import insert_ignoring_conflict

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


def _reschedule(sop: Sop, changed: list[SopStep], added: list[SopStep], now: datetime) -> None:
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
        _close_tasks(and_(SopTask.enrollment_id == enrollment.id, SopTask.step_id.in_([s.id for s in steps])),
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

def _relation_facts(corp_id: str, userid: str, external_userid: str) -> tuple[set[int], set[str]]:
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
    from scrm.services.events.common import insert_ignoring_conflict

    sops = list(db.session.scalars(select(Sop).filter_by(corp_id=corp_id, status=SopStatus.ACTIVE)))
    if not sops:
        return []
    channels, tags = _relation_facts(corp_id, userid, external_userid)
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
        queued += enqueue("jobs.sop.run_task", task_id, as_of, queue="messages",
                          job_id=f"sop-task-{task_id}", unique=True) is not None
    for task_id in checks:
        queued += enqueue("jobs.sop.check_task", task_id, as_of, queue="messages",
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
        _stop(ids, "relation_lost", now)


def _stop(enrollment_ids: list[int], reason: str, now: datetime) -> None:
    db.session.execute(update(SopEnrollment).where(SopEnrollment.id.in_(enrollment_ids))
                       .values(status=EnrollmentStatus.STOPPED, stop_reason=reason, ended_at=now))
    _close_tasks(SopTask.enrollment_id.in_(enrollment_ids), TaskStatus.SKIPPED, reason, now)


# ---- running a task (jobs on the messages queue) ---------------------------------------------

def run_task(task_id: int, as_of: datetime | None = None) -> str:
    """Run one due task at most once. Returns its status (or why nothing happened)."""
    now = utcnow()
    as_of = as_of or now
    task = db.session.get(SopTask, task_id)
    if task is None or task.status != TaskStatus.PENDING:
        return "skipped"
    sop = db.session.get(Sop, task.sop_id)
    if sop is None or sop.status != SopStatus.ACTIVE:
        return "paused"
    if task.delivery == "reminder" and not reminder_allowed(task.corp_id, task.userid):
        return "throttled"  # still pending: the next sweep enqueues it again
    claimed = db.session.execute(
        update(SopTask).where(SopTask.id == task_id, SopTask.status == TaskStatus.PENDING)
        .values(status=TaskStatus.RUNNING, attempts=SopTask.attempts + 1, started_at=now)
        .returning(SopTask.id)).first()
    db.session.commit()
    if claimed is None:
        return "skipped"
    db.session.refresh(task)
    done = _check_still_due(task, sop, as_of, now)
    if done is not None:
        return done
    step = db.session.get(SopStep, task.step_id)
    tasks = [task]
    if task.delivery == "mass_send":
        tasks += _claim_batch(task, step, sop, as_of, now)
    try:
        if task.delivery == "mass_send":
            return _mass_send(tasks, step, now)
        return _remind(task, step, now)
    except WeComError as exc:
        for each in tasks:
            if exc.retryable and each.attempts < MAX_ATTEMPTS:
                each.status, each.error = TaskStatus.PENDING, str(exc)  # the next sweep retries
            else:
                _finish(each, TaskStatus.FAILED, now, error=str(exc))
        db.session.commit()
        return task.status


def _check_still_due(task: SopTask, sop: Sop, as_of: datetime, now: datetime) -> str | None:
    """For a claimed task: its final status when it must not be sent (stale, relation lost, no
    longer matching: the enrollment stops), else None."""
    enrollment = db.session.get(SopEnrollment, task.enrollment_id)
    if as_of - task.due_at > STALE_AFTER:
        return _finish(task, TaskStatus.SKIPPED, now, error="stale: more than 24 h past due")
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=task.corp_id, userid=task.userid, external_userid=task.external_userid))
    if relation is None or relation.status != RelationStatus.ACTIVE:
        _stop([enrollment.id], "relation_lost", now)
        return _finish(task, TaskStatus.SKIPPED, now, error="relation_lost")
    channels, tags = _relation_facts(task.corp_id, task.userid, task.external_userid)
    if not matches(sop.conditions or {}, task.userid, channels, tags):
        _stop([enrollment.id], "no_longer_matches", now)
        return _finish(task, TaskStatus.SKIPPED, now, error="no_longer_matches")
    return None


def _claim_batch(task: SopTask, step: SopStep, sop: Sop, as_of: datetime, now: datetime) -> list[SopTask]:
    """The same step's other due mass-send tasks of the same staff member, claimed, so they go
    out as one WeCom task (the staff member confirms one mass send, not one per customer). Only
    when the content is the same for every customer: a ``{nickname}`` text is sent one by one.
    Their own jobs then find them claimed and do nothing."""
    if NICKNAME in (step.text or ""):
        return []
    ids = db.session.scalars(select(SopTask.id).where(
        SopTask.step_id == task.step_id, SopTask.userid == task.userid, SopTask.id != task.id,
        SopTask.status == TaskStatus.PENDING, SopTask.due_at <= as_of).order_by(SopTask.id)
        .limit(MASS_SEND_BATCH - 1)).all()
    if not ids:
        return []
    claimed = db.session.scalars(
        update(SopTask).where(SopTask.id.in_(ids), SopTask.status == TaskStatus.PENDING)
        .values(status=TaskStatus.RUNNING, attempts=SopTask.attempts + 1, started_at=now)
        .returning(SopTask.id)).all()
    db.session.commit()
    batch = []
    for sibling in db.session.scalars(select(SopTask).where(SopTask.id.in_(claimed)).order_by(SopTask.id)
                                      .execution_options(populate_existing=True)):
        if _check_still_due(sibling, sop, as_of, now) is None:
            batch.append(sibling)
    return batch


def task_names(task: SopTask) -> tuple[str | None, str | None]:
    """(the customer's name, the staff member's name) of a task."""
    nickname = db.session.scalar(select(Customer.name).filter_by(corp_id=task.corp_id,
                                                                 external_userid=task.external_userid))
    staff_name = db.session.scalar(select(Staff.name).filter_by(corp_id=task.corp_id, userid=task.userid))
    return nickname, staff_name


def _content(task: SopTask, step: SopStep, now: datetime) -> dict:
    nickname, staff_name = task_names(task)
    text = render_text(step.text, nickname=nickname, staff_name=staff_name)
    media = wecom_attachments(task.corp_id, step.attachments or [], now)
    content: dict = {}
    if text:
        content["text"] = {"content": text}
    if media.attachments:
        content["attachments"] = media.attachments
    return content


def _mass_send(tasks: list[SopTask], step: SopStep, now: datetime) -> str:
    """One add_msg_template (chat_type single) for ``tasks`` (one staff member, one step, the
    same content). Returns the first task's status."""
    task = tasks[0]
    content = _content(task, step, now)
    if not content:
        for each in tasks:
            _finish(each, TaskStatus.FAILED, now, error="nothing to send (attachments expired)")
        return task.status
    reply = wecom_client(task.corp_id).add_msg_template({
        "chat_type": "single", "external_userid": [t.external_userid for t in tasks], "sender": task.userid,
        "allow_select": False, **content})
    failed = set(reply.get("fail_list") or [])
    for each in tasks:
        each.content, each.msgid = content, reply.get("msgid")
        if each.external_userid in failed or not each.msgid:
            _finish(each, TaskStatus.FAILED, now, result="fail_list",
                    error="WeCom did not accept the customer (not a friend, or over the mass-send quota)")
            continue
        each.status, each.sent_at, each.next_check_at, each.error = (
            TaskStatus.AWAITING, now, now + FIRST_CHECK, None)
        _record(each, step, "sop_step_sent", now, content, msgid=each.msgid, batch=len(tasks))
    db.session.commit()
    return task.status


def _remind(task: SopTask, step: SopStep, now: datetime) -> str:
    content = _content(task, step, now)
    nickname, _ = task_names(task)
    sop = db.session.get(Sop, task.sop_id)
    url = f"{settings().public_url}/sidebar/?sop_step={task.id}"
    preview = (content.get("text") or {}).get("content") or f"{len(content.get('attachments') or [])} 个附件"
    # textcard descriptions take a little HTML: everything customer- or operator-written is escaped.
    step_name = step.name or f"第{step.position + 1}步"
    description = (f'<div class="gray">{html.escape(sop.name)} · {html.escape(step_name)}</div>'
                   f"<div>客户：{html.escape(nickname or task.external_userid)}</div>"
                   f'<div class="normal">{html.escape(preview[:120])}</div>')
    wecom_client(task.corp_id).send_app_message(task.userid, "textcard", {
        "title": "客户SOP提醒：请给客户发送消息", "description": description, "url": url, "btntxt": "去发送"},
        enable_duplicate_check=1)
    task.content = content
    _record(task, step, "sop_step_sent", now, content)
    return _finish(task, TaskStatus.SENT, now, sent=True)


def reminder_allowed(corp_id: str, userid: str) -> bool:
    """At most REMINDERS_PER_MINUTE message/send per staff member per minute (WeCom drops the
    rest); shared by SOP reminders and follow-up reminders. Counts this one."""
    redis = current_app.extensions["redis"]
    minute = int(utcnow().timestamp() // 60)
    key = f"scrm:throttle:message_send:{corp_id}:{userid}:{minute}"
    with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
    return count <= REMINDERS_PER_MINUTE


def _record(task: SopTask, step: SopStep, kind: str, now: datetime, content: dict | None = None,
            **data: Any) -> None:
    timeline.record(task.corp_id, task.external_userid, kind, source="job", userid=task.userid, occurred_at=now,
                    summary=((content or {}).get("text") or {}).get("content"),
                    data={"sop_id": task.sop_id, "step_id": step.id, "task_id": task.id,
                          "delivery": task.delivery, **data})


def _finish(task: SopTask, status: TaskStatus, now: datetime, *, error: str | None = None,
            result: str | None = None, sent: bool = False) -> str:
    task.status, task.finished_at = status, now
    task.error = error
    if result is not None:
        task.result = result
    if sent:
        task.sent_at = task.sent_at or now
    db.session.flush()
    _complete_if_done(task.enrollment_id, now)
    db.session.commit()
    return task.status


def _complete_if_done(enrollment_id: int, now: datetime) -> None:
    still_open = db.session.scalar(select(exists().where(SopTask.enrollment_id == enrollment_id,
                                                         SopTask.status.in_(OPEN))))
    if not still_open:
        db.session.execute(update(SopEnrollment).where(
            SopEnrollment.id == enrollment_id, SopEnrollment.status == EnrollmentStatus.ACTIVE)
            .values(status=EnrollmentStatus.COMPLETED, ended_at=now))


# ---- mass-send results -----------------------------------------------------------------------

def check_task(task_id: int, as_of: datetime | None = None) -> str:
    """Has the staff member sent the mass-send task, and did it reach the customer?"""
    now = utcnow()
    task = db.session.get(SopTask, task_id)
    if task is None or task.status != TaskStatus.AWAITING or not task.msgid:
        return "skipped"
    client = wecom_client(task.corp_id)
    try:
        staff_status = None
        for item in client.get_groupmsg_task(task.msgid).get("task_list") or []:
            if item.get("userid") == task.userid:
                staff_status = item.get("status")
        send = None
        if staff_status == 2:  # the staff member sent it
            for item in client.get_groupmsg_send_result(task.msgid, task.userid).get("send_list") or []:
                if item.get("external_userid") == task.external_userid:
                    send = item
    except WeComError as exc:
        if exc.retryable:  # 41063: still being dispatched; -1, 45009...
            task.next_check_at, task.error = now + DISPATCHING_RETRY, str(exc)
            db.session.commit()
            return "retry"
        return _finish(task, TaskStatus.FAILED, now, error=str(exc))
    step = db.session.get(SopStep, task.step_id)
    if send is not None and send.get("status") in SEND_RESULTS:
        result = SEND_RESULTS[send["status"]]
        task.result = result
        if result == "sent":
            task.sent_at = from_timestamp(send.get("send_time")) or now
            _record(task, step, "sop_step_delivered", now, task.content, msgid=task.msgid)
            return _finish(task, TaskStatus.SENT, now)
        return _finish(task, TaskStatus.FAILED, now, error=result, result=result)
    if now - (task.sent_at or task.started_at or now) > GIVE_UP_AFTER:
        return _finish(task, TaskStatus.FAILED, now, result="not_sent", error="the staff member never sent it")
    waited = now - (task.sent_at or now)
    task.next_check_at = now + min(max(FIRST_CHECK, waited), MAX_CHECK_INTERVAL)  # back off
    task.result = "not_sent_yet" if staff_status != 2 else "pending"
    db.session.commit()
    return "awaiting"


# ---- progress (Open API) ---------------------------------------------------------------------

def progress(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    enrollments = list(db.session.scalars(select(SopEnrollment).filter_by(
        corp_id=corp_id, external_userid=external_userid).order_by(SopEnrollment.id)))
    if not enrollments:
        return []
    sops = {s.id: s for s in db.session.scalars(select(Sop).where(Sop.id.in_({e.sop_id for e in enrollments})))}
    tasks = list(db.session.scalars(select(SopTask).where(SopTask.enrollment_id.in_([e.id for e in enrollments]))
                                    .order_by(SopTask.due_at, SopTask.id)))
    steps = {s.id: s for s in db.session.scalars(
        select(SopStep).where(SopStep.id.in_({t.step_id for t in tasks})))}
    out = []
    for enrollment in enrollments:
        mine = [t for t in tasks if t.enrollment_id == enrollment.id]
        out.append({
            "sop_id": enrollment.sop_id, "sop_name": sops[enrollment.sop_id].name,
            "sop_status": sops[enrollment.sop_id].status, "userid": enrollment.userid,
            "status": enrollment.status, "stop_reason": enrollment.stop_reason,
            "added_at": enrollment.added_at, "ended_at": enrollment.ended_at,
            "done": sum(1 for t in mine if t.status == TaskStatus.SENT), "total": len(mine),
            "steps": [{"task_id": t.id, "step_id": t.step_id, "position": steps[t.step_id].position,
                       "name": steps[t.step_id].name, "delivery": t.delivery, "due_at": t.due_at,
                       "status": t.status, "sent_at": t.sent_at, "result": t.result, "error": t.error}
                      for t in mine]})
    return out
