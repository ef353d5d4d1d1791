"""The welcome fast path (PROTOCOL.md §3.3): a WelcomeCode works once, within 20 s of the add.

The callback view enqueues `jobs.welcome.send_welcome(event_id)` on the dedicated `welcome`
queue as soon as the add is stored, before any customer detail is fetched; the callbacks-queue
handler enqueues it again as a fallback (Redis down at receipt), which is harmless: the
WelcomeMessage row, unique per event, is claimed before WeCom is called, so a welcome is never
sent twice. Retryable errors are retried only while the window is still open.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from scrm.clock import utcnow
from scrm.crypto import parse_xml
from scrm.extensions import db
from scrm.models import CallbackEvent, Staff, WelcomeMessage, WelcomeStatus
from scrm.queueing import enqueue
from scrm.services import timeline
from scrm.services.corps import wecom_client
from scrm.wecom import RetryableWeComError, WeComError

log = logging.getLogger(__name__)

WINDOW = timedelta(seconds=20)
SAFETY = timedelta(seconds=2)  # don't start an attempt WeCom would see after the window
RETRY_DELAY = 1.0
ADD_EVENTS = ("add_external_contact", "add_half_external_contact")
DEFAULT_TEXT = "您好，我是{staff_name}，很高兴认识您！有任何问题随时联系我。"
DEFAULT_TEXT_NO_NAME = "您好，很高兴认识您！有任何问题随时联系我。"
OUTCOMES = {41050: WelcomeStatus.TOO_LATE, 41051: WelcomeStatus.ALREADY_CHATTING}


def wants_welcome(fields: dict) -> bool:
    return (fields.get("Event") == "change_external_contact"
            and fields.get("ChangeType") in ADD_EVENTS and bool(fields.get("WelcomeCode")))


def enqueue_welcome(event_id: int, delay: float = 0, attempt: int = 0, unique: bool = True) -> None:
    """`unique=False` only where no job for the event can exist yet (the view, on a new row):
    it saves a Redis round trip on the callback hot path."""
    enqueue("jobs.welcome.send_welcome", event_id, queue="welcome", delay=delay,
            job_id=f"welcome-{event_id}-{attempt}", unique=unique)


def render(corp_id: str, userid: str) -> dict:
    """The message body. Channel/staff templates and attachments come with the welcome issue (#5);
    until then, the corp default text, with the staff member's name when we know it."""
    name = db.session.scalar(select(Staff.name).filter_by(corp_id=corp_id, userid=userid))
    return {"text": DEFAULT_TEXT.format(staff_name=name) if name else DEFAULT_TEXT_NO_NAME}


def _claim(event: CallbackEvent, fields: dict) -> WelcomeMessage | None:
    """The row for this event, moved to SENDING by us; None when another attempt owns it or it
    is settled."""
    row = db.session.scalar(select(WelcomeMessage).filter_by(event_id=event.id))
    if row is None:
        from scrm.services.events.common import insert_ignoring_conflict

        insert_ignoring_conflict(WelcomeMessage, dict(
            corp_id=event.corp_id, event_id=event.id, userid=fields.get("UserID") or "",
            external_userid=fields.get("ExternalUserID") or "", status=WelcomeStatus.RETRYING,
            attempts=0, received_at=event.received_at))
    claimed = db.session.execute(
        update(WelcomeMessage).where(WelcomeMessage.event_id == event.id,
                                     WelcomeMessage.status == WelcomeStatus.RETRYING)
        .values(status=WelcomeStatus.SENDING, attempts=WelcomeMessage.attempts + 1)
        .returning(WelcomeMessage.id)).first()
    db.session.commit()
    return db.session.get(WelcomeMessage, claimed[0]) if claimed else None


def _settle(row: WelcomeMessage, status: str, now: datetime, errcode: int | None = None,
            error: str | None = None) -> None:
    row.status, row.errcode, row.error, row.answered_at = status, errcode, error, now
    row.latency_ms = int((now - row.received_at).total_seconds() * 1000)
    if status in (WelcomeStatus.SENT, WelcomeStatus.ALREADY_CHATTING):
        timeline.record(row.corp_id, row.external_userid, "welcome_sent", source="job",
                        userid=row.userid, occurred_at=now, event_id=row.event_id,
                        summary=(row.content or {}).get("text"),
                        data={"status": status, "latency_ms": row.latency_ms})
    db.session.commit()


def send_welcome(event_id: int) -> str:
    """Send the welcome for one add event. Returns the WelcomeMessage status (or 'skipped')."""
    event = db.session.get(CallbackEvent, event_id)
    if event is None:
        return "skipped"
    fields = parse_xml(event.payload)
    if not wants_welcome(fields):
        return "skipped"
    now = utcnow()
    row = _claim(event, fields)
    if row is None:
        return "skipped"
    deadline = event.received_at + WINDOW
    if now > deadline - SAFETY:
        _settle(row, WelcomeStatus.TOO_LATE, now, error="the 20 s window passed before sending")
        return row.status
    row.content = render(event.corp_id, row.userid)
    db.session.commit()
    try:
        wecom_client(event.corp_id).send_welcome_msg(fields["WelcomeCode"], **row.content)
    except RetryableWeComError as exc:
        now = utcnow()
        if now + timedelta(seconds=RETRY_DELAY) < deadline - SAFETY:
            row.status, row.errcode, row.error = WelcomeStatus.RETRYING, exc.errcode, str(exc)
            db.session.commit()
            enqueue_welcome(event_id, delay=RETRY_DELAY, attempt=row.attempts)
        else:
            _settle(row, WelcomeStatus.TOO_LATE, now, exc.errcode, f"window closed after: {exc}")
        return row.status
    except WeComError as exc:
        _settle(row, OUTCOMES.get(exc.errcode, WelcomeStatus.FAILED), utcnow(), exc.errcode, str(exc))
        return row.status
    _settle(row, WelcomeStatus.SENT, utcnow())
    log.info("welcome sent for event %s in %s ms", event_id, row.latency_ms)
    return row.status
