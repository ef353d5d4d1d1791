"""One job per task: create it in WeCom at most once, then read back what became of it.

``run_task`` claims a pending task (``pending`` → ``running``, one UPDATE: one job wins), renders
the content for its sender (``{staff_name}``; media ids kept fresh) and calls `add_msg_template`
with its customers (≤ 10,000). Customers in ``fail_list`` are ``refused``, the rest ``waiting``.
A retryable WeCom error puts the task back to ``pending`` with a growing delay (at most
TASK_MAX_ATTEMPTS); any other error fails it and records the error. A task that was ``running``
when its worker died is failed by the sweep, never sent again (WeCom may have created it).

``check_task`` asks `get_groupmsg_task` whether the sender sent it (41063 "still being
dispatched": a minute later), then pages `get_groupmsg_send_result` and updates the recipients
one UPDATE per result kind. Not sent yet: asked again with a growing interval (at most 6 h), given
up after 3 days (``not_sent``), or at once when the sender has left the company.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update

from scrm.clock import from_timestamp, utcnow
from scrm.extensions import db
from scrm.models import (
    MassMessage,
    MassMessageRecipient,
    MassMessageStatus,
    MassMessageTask,
    MassRecipientStatus,
    Staff,
)
from scrm.models import MassTaskStatus as T
from scrm.services import outreach
from scrm.services.content import render_text, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError, retry

Rc = MassMessageRecipient
R = MassRecipientStatus
SEND_STATUS = {1: R.SENT, 2: R.NOT_FRIEND, 3: R.QUOTA_EXCEEDED}
UPDATE_BATCH = 1000
OPEN = (T.PENDING, T.RUNNING, T.AWAITING)


def _claim(task_id: int, now: datetime) -> bool:
    claimed = db.session.execute(update(MassMessageTask).where(
        MassMessageTask.id == task_id, MassMessageTask.status == T.PENDING)
        .values(status=T.RUNNING, attempts=MassMessageTask.attempts + 1, started_at=now)).rowcount
    db.session.commit()
    return bool(claimed)


def _set(task_id: int, ids: list[str] | None, status: str, **values) -> None:
    """Recipients of the task (all still waiting or queued, or those named) to ``status``."""
    base = update(Rc).where(Rc.task_id == task_id).values(status=status, **values)
    if ids is None:
        db.session.execute(base.where(Rc.status.in_((R.QUEUED, R.WAITING))))
        return
    for start in range(0, len(ids), UPDATE_BATCH):
        db.session.execute(base.where(Rc.external_userid.in_(ids[start:start + UPDATE_BATCH])))


def content_for(message: MassMessage, sender: str, now: datetime) -> dict:
    staff_name = db.session.scalar(select(Staff.name).filter_by(corp_id=message.corp_id, userid=sender))
    content: dict = {}
    text = render_text(message.text, nickname=None, staff_name=staff_name)
    if text:
        content["text"] = {"content": text}
    media = wecom_attachments(message.corp_id, message.attachments or [], now)
    if media.attachments:
        content["attachments"] = media.attachments
    return content


def run_task(task_id: int) -> str:
    now = utcnow()
    if not _claim(task_id, now):
        return "skipped"
    task = db.session.get(MassMessageTask, task_id)
    message = db.session.get(MassMessage, task.mass_message_id)
    customers = list(db.session.scalars(select(Rc.external_userid).where(
        Rc.task_id == task.id, Rc.status == R.QUEUED).order_by(Rc.external_userid)))
    content = content_for(message, task.sender, now)
    if not customers or not content:
        return _fail(task, now, "nothing to send (attachments expired)" if customers else "no customer left")
    try:
        msgid, refused = outreach.create_mass_send(task.corp_id, task.sender, customers, content)
    except WeComError as exc:
        if exc.retryable and task.attempts < retry.TASK_MAX_ATTEMPTS:
            task.status, task.error = T.PENDING, str(exc)
            task.next_check_at = now + timedelta(seconds=retry.job_delay(task.attempts))
            db.session.commit()
            return "retry"
        return _fail(task, now, str(exc))
    task.status, task.msgid, task.created_at, task.error = T.AWAITING, msgid, now, None
    task.next_check_at = now + outreach.FIRST_CHECK
    if refused:
        _set(task.id, sorted(refused), R.REFUSED)
    _set(task.id, None, R.WAITING)
    db.session.commit()
    return "awaiting"


def _fail(task: MassMessageTask, now: datetime, error: str) -> str:
    task.status, task.error, task.finished_at = T.FAILED, error, now
    _set(task.id, None, R.NOT_SENT)
    settle(now, task.mass_message_id)
    db.session.commit()
    return "failed"


def settle(now: datetime, message_id: int | None = None) -> None:
    """Messages (or the one given) being sent whose tasks are all settled: done (no commit)."""
    open_task = exists().where(MassMessageTask.mass_message_id == MassMessage.id, MassMessageTask.status.in_(OPEN))
    query = update(MassMessage).where(MassMessage.status == MassMessageStatus.SENDING,
                                      MassMessage.built_at.is_not(None), ~open_task)
    if message_id is not None:
        query = query.where(MassMessage.id == message_id)
    db.session.execute(query.values(status=MassMessageStatus.DONE, finished_at=now))


def check_task(task_id: int) -> str:
    now = utcnow()
    task = db.session.get(MassMessageTask, task_id)
    if task is None or task.status != T.AWAITING or not task.msgid:
        return "skipped"
    client = wecom_client(task.corp_id)
    try:
        members = outreach.pages(lambda c: client.get_groupmsg_task(task.msgid, cursor=c), "task_list")
        mine = next((m for m in members if m.get("userid") == task.sender), {})
        sends = []
        if mine.get("status") == 2:
            sends = outreach.pages(lambda c: client.get_groupmsg_send_result(task.msgid, task.sender, cursor=c),
                                   "send_list")
    except WeComError as exc:
        if exc.retryable:
            task.next_check_at, task.error = now + retry.DISPATCHING_RECHECK, str(exc)
        else:
            task.status, task.error, task.finished_at = T.FAILED, str(exc), now
            _set(task.id, None, R.NOT_SENT)
            db.session.flush()
            settle(now, task.mass_message_id)
        db.session.commit()
        return "retry" if exc.retryable else "failed"
    if mine.get("status") == 2:
        sent_at = from_timestamp(mine.get("send_time")) or now
        by_status: dict[str, list[str]] = defaultdict(list)
        for row in sends:
            if row.get("status") in SEND_STATUS:
                by_status[SEND_STATUS[row["status"]]].append(row.get("external_userid"))
        for status, ids in by_status.items():
            _set(task.id, ids, status, sent_at=sent_at if status == R.SENT else None)
        task.status, task.sent_at, task.finished_at, task.error = T.SENT, sent_at, now, None
        _set(task.id, None, R.NOT_SENT)  # in the task but not in WeCom's results (status 0: not sent)
    elif _left(task) or now - (task.created_at or now) > outreach.GIVE_UP_AFTER:
        task.status, task.finished_at = T.NOT_SENT, now
        task.error = "the sender left the company" if _left(task) else "the sender never sent it"
        _set(task.id, None, R.NOT_SENT)
    else:
        task.next_check_at = outreach.next_check(now, task.created_at)
    db.session.flush()
    settle(now, task.mass_message_id)
    db.session.commit()
    return task.status


def _left(task: MassMessageTask) -> bool:
    left_at, status = db.session.execute(select(Staff.left_at, Staff.status).filter_by(
        corp_id=task.corp_id, userid=task.sender)).first() or (None, None)
    return left_at is not None or status == 5
