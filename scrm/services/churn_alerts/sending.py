"""Sending pending churn alerts: one `message/send` per recipient and sweep, holding all of that
recipient's pending alerts (the `churn-alerts` sweep, every 15 s).

* Batching: a recipient is due once their oldest pending alert is SCRM_CHURN_ALERT_BATCH_SECONDS
  old (default 20 s), so the rest of a burst joins it; a burst of 50 deletions becomes one or two
  messages per recipient, each within a minute of its deletion.
* Exactly once: the recipient's rows are claimed by one UPDATE … WHERE status = 'pending' with a
  token; a second sweep (another scheduler) claims nothing. A claim left by a worker that died is
  taken back after STALE_CLAIM (message/send's duplicate check drops a repeat within 30 min).
* Budget: message/send allows 30 messages a minute per member (scrm/wecom/ratelimit.py
  MEMBER_LIMITS, shared with SOP and follow-up reminders; WeCom drops the excess silently). A
  recipient with no room left this minute gets their rows back, untouched, for the next sweep.
* Errors (scrm/wecom/retry.py): a retryable one puts the rows back with next_attempt_at after
  retry.job_delay(attempts), at most retry.TASK_MAX_ATTEMPTS attempts; a permanent one, or a reply
  listing the recipient in invaliduser / unlicenseduser, fails the rows with the error recorded.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from scrm.config import settings
from scrm.extensions import db
from scrm.models import AlertStatus, ChurnAlert
from scrm.services import outreach
from scrm.services.churn_alerts.texts import compose
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError, retry

log = logging.getLogger(__name__)

API = "message/send"
STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = retry.TASK_MAX_ATTEMPTS
RECIPIENTS_PER_SWEEP = 500


def _ready(now: datetime):
    return (ChurnAlert.status == AlertStatus.PENDING,
            or_(ChurnAlert.next_attempt_at.is_(None), ChurnAlert.next_attempt_at <= now))


def release_stale(now: datetime) -> int:
    """Claims older than STALE_CLAIM (the sweep that took them died) go back to pending."""
    released = db.session.execute(update(ChurnAlert).where(
        ChurnAlert.status == AlertStatus.SENDING, ChurnAlert.claimed_at < now - STALE_CLAIM).values(
        status=AlertStatus.PENDING, claim_token=None), execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    return released


def due_recipients(now: datetime) -> list[tuple[str, str]]:
    """(corp_id, recipient) whose oldest ready alert has waited out the batch window."""
    cutoff = now - timedelta(seconds=settings().churn_alert_batch_seconds)
    rows = db.session.execute(
        select(ChurnAlert.corp_id, ChurnAlert.recipient_userid).where(*_ready(now))
        .group_by(ChurnAlert.corp_id, ChurnAlert.recipient_userid)
        .having(func.min(ChurnAlert.created_at) <= cutoff)
        .order_by(func.min(ChurnAlert.created_at)).limit(RECIPIENTS_PER_SWEEP)).all()
    db.session.commit()
    return [(corp_id, recipient) for corp_id, recipient in rows]


def _set(token: str, **values) -> None:
    db.session.execute(update(ChurnAlert).where(ChurnAlert.claim_token == token).values(**values),
                       execution_options={"synchronize_session": False})
    db.session.commit()


def send_to(corp_id: str, recipient: str, now: datetime) -> str:
    """Claim and send the recipient's ready alerts as one message. Returns what happened:
    nothing | waiting (budget) | sent | retry | failed."""
    token = uuid.uuid4().hex
    claimed = db.session.execute(update(ChurnAlert).where(
        ChurnAlert.corp_id == corp_id, ChurnAlert.recipient_userid == recipient, ChurnAlert.created_at <= now,
        *_ready(now)).values(status=AlertStatus.SENDING, claim_token=token, claimed_at=now),
        execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    if not claimed:
        return "nothing"  # another sweep took them
    if not outreach.reminder_allowed(corp_id, recipient, now):
        _set(token, status=AlertStatus.PENDING, claim_token=None, claimed_at=None)
        return "waiting"
    rows = list(db.session.scalars(select(ChurnAlert).where(ChurnAlert.claim_token == token)
                                   .order_by(ChurnAlert.created_at, ChurnAlert.id)))
    attempts = max(row.attempts for row in rows) + 1
    msgtype, content = compose(corp_id, recipient, rows)
    db.session.commit()
    try:
        reply = wecom_client(corp_id).send_app_message(recipient, msgtype, content, enable_duplicate_check=1)
    except LookupError as exc:  # the corp's credentials are gone
        _set(token, status=AlertStatus.FAILED, attempts=attempts, error=str(exc)[:500])
        return "failed"
    except WeComError as exc:
        if exc.retryable and attempts < MAX_ATTEMPTS:
            _set(token, status=AlertStatus.PENDING, claim_token=None, attempts=attempts, error=str(exc)[:500],
                 next_attempt_at=now + timedelta(seconds=retry.job_delay(attempts)))
            log.warning("churn alerts to %s: %s; retry %d", recipient, exc, attempts)
            return "retry"
        _set(token, status=AlertStatus.FAILED, attempts=attempts, error=str(exc)[:500])
        log.warning("churn alerts to %s failed: %s", recipient, exc)
        return "failed"
    for field in ("invaliduser", "unlicenseduser"):
        if recipient in (reply.get(field) or "").split("|"):
            _set(token, status=AlertStatus.FAILED, attempts=attempts, error=f"{API}: recipient in {field}")
            log.warning("churn alerts to %s not delivered: %s", recipient, field)
            return "failed"
    _set(token, status=AlertStatus.SENT, attempts=attempts, sent_at=now, error=None,
         msgid=(reply.get("msgid") or None))
    return "sent"


def send_pending(now: datetime) -> int:
    """The sweep's sending half. Returns the messages sent."""
    release_stale(now)
    sent = 0
    for corp_id, recipient in due_recipients(now):
        sent += send_to(corp_id, recipient, now) == "sent"
    return sent
