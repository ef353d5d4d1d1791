"""Running a due SOP task (the ``messages`` queue's job): claim it, check it is still due, send it.

``mass_send`` creates a WeCom 1:1 mass-send task for the staff member (`add_msg_template`,
chat_type single); due tasks of one step and staff member whose content is the same for everyone
(no ``{nickname}``) are claimed together and sent as one task, so the staff member confirms one
mass send. ``reminder`` sends the staff member a `message/send` text card linking to the sidebar
(``/sidebar/?sop_step=<task id>``), within message/send's per-staff budget.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.content_limits import NICKNAME
from scrm.extensions import db
from scrm.models import (
    EnrollmentStatus,
    FollowRelation,
    RelationStatus,
    Sop,
    SopEnrollment,
    SopStatus,
    SopStep,
    SopTask,
    TaskStatus,
)
from scrm.services import outreach, timeline
from scrm.services.outreach import FIRST_CHECK, reminder_allowed
from scrm.services.sop.scheduling import matches, relation_facts, stop_enrollments
from scrm.wecom import WeComError, retry

STALE_AFTER = timedelta(hours=24)
MAX_ATTEMPTS = retry.TASK_MAX_ATTEMPTS  # retryable WeCom errors before a task fails
MASS_SEND_BATCH = 1000  # customers in one add_msg_template (WeCom takes up to 10,000)
OPEN = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.AWAITING)


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
                finish(each, TaskStatus.FAILED, now, error=str(exc))
        db.session.commit()
        return task.status


def _check_still_due(task: SopTask, sop: Sop, as_of: datetime, now: datetime) -> str | None:
    """For a claimed task: its final status when it must not be sent (stale, relation lost, no
    longer matching: the enrollment stops), else None."""
    enrollment = db.session.get(SopEnrollment, task.enrollment_id)
    if as_of - task.due_at > STALE_AFTER:
        return finish(task, TaskStatus.SKIPPED, now, error="stale: more than 24 h past due")
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=task.corp_id, userid=task.userid, external_userid=task.external_userid))
    if relation is None or relation.status != RelationStatus.ACTIVE:
        stop_enrollments([enrollment.id], "relation_lost", now)
        return finish(task, TaskStatus.SKIPPED, now, error="relation_lost")
    channels, tags = relation_facts(task.corp_id, task.userid, task.external_userid)
    if not matches(sop.conditions or {}, task.userid, channels, tags):
        stop_enrollments([enrollment.id], "no_longer_matches", now)
        return finish(task, TaskStatus.SKIPPED, now, error="no_longer_matches")
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
    return outreach.names(task.corp_id, task.userid, task.external_userid)


def _content(task: SopTask, step: SopStep, now: datetime) -> dict:
    return outreach.render(task.corp_id, task.userid, task.external_userid, step.text, step.attachments or [], now)


def _mass_send(tasks: list[SopTask], step: SopStep, now: datetime) -> str:
    """One add_msg_template (chat_type single) for ``tasks`` (one staff member, one step, the
    same content). Returns the first task's status."""
    task = tasks[0]
    content = _content(task, step, now)
    if not content:
        for each in tasks:
            finish(each, TaskStatus.FAILED, now, error="nothing to send (attachments expired)")
        return task.status
    msgid, failed = outreach.create_mass_send(task.corp_id, task.userid, [t.external_userid for t in tasks], content)
    for each in tasks:
        each.content, each.msgid = content, msgid
        if each.external_userid in failed or not each.msgid:
            finish(each, TaskStatus.FAILED, now, result="fail_list", error=outreach.NOT_ACCEPTED)
            continue
        each.status, each.sent_at, each.next_check_at, each.error = (
            TaskStatus.AWAITING, now, now + FIRST_CHECK, None)
        record(each, step, "sop_step_sent", now, content, msgid=each.msgid, batch=len(tasks))
    db.session.commit()
    return task.status


def _remind(task: SopTask, step: SopStep, now: datetime) -> str:
    content = _content(task, step, now)
    nickname, _ = task_names(task)
    sop = db.session.get(Sop, task.sop_id)
    url = f"{settings().public_url}/sidebar/?sop_step={task.id}"
    step_name = step.name or f"第{step.position + 1}步"
    description = outreach.card_description(f"{sop.name} · {step_name}", nickname or task.external_userid,
                                            outreach.preview(content))
    outreach.send_card(task.corp_id, task.userid, title="客户SOP提醒：请给客户发送消息", description=description,
                       url=url, button="去发送")
    task.content = content
    record(task, step, "sop_step_sent", now, content)
    return finish(task, TaskStatus.SENT, now, sent=True)


def record(task: SopTask, step: SopStep, kind: str, now: datetime, content: dict | None = None,
            **data: Any) -> None:
    timeline.record(task.corp_id, task.external_userid, kind, source="job", userid=task.userid, occurred_at=now,
                    summary=((content or {}).get("text") or {}).get("content"),
                    data={"sop_id": task.sop_id, "step_id": step.id, "task_id": task.id,
                          "delivery": task.delivery, **data})


def finish(task: SopTask, status: TaskStatus, now: datetime, *, error: str | None = None,
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
