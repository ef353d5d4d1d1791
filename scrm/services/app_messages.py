"""Rows that become one `message/send` app message each, sent exactly once: the churn alerts
(scrm/services/churn_alerts) and the morning digest (scrm/services/digest) share this.

A row model has ``status`` (pending / sending / sent / failed), ``claim_token``, ``claimed_at``,
``attempts``, ``next_attempt_at``, ``sent_at``, ``msgid`` and ``error``.

* Claim: one UPDATE … WHERE status = 'pending' sets a token; a second sweep (another scheduler)
  claims nothing. A claim left by a worker that died is taken back after STALE_CLAIM, and
  message/send's duplicate check drops a repeat of the same JSON within 30 minutes.
* Budget: message/send allows 30 messages a minute per member (scrm/wecom/ratelimit.py
  MEMBER_LIMITS, shared with the reminders; WeCom drops the excess silently): a recipient with no
  room left gets the rows back, untouched.
* Errors (scrm/wecom/retry.py): a retryable one puts the rows back with next_attempt_at after
  retry.job_delay(attempts), at most retry.TASK_MAX_ATTEMPTS attempts; a permanent one, or a reply
  listing the recipient in invaliduser / unlicenseduser, fails the rows with the error recorded.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update

from scrm.extensions import db
from scrm.services import outreach
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError, retry

log = logging.getLogger(__name__)

API = "message/send"
STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = retry.TASK_MAX_ATTEMPTS
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def ready(model, now: datetime) -> tuple:
    """Conditions of a row that may be sent now."""
    return model.status == PENDING, or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)


def release_stale(model, now: datetime) -> int:
    """Claims older than STALE_CLAIM (the sweep that took them died) go back to pending. Commits."""
    released = db.session.execute(update(model).where(
        model.status == SENDING, model.claimed_at < now - STALE_CLAIM).values(
        status=PENDING, claim_token=None), execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    return released


def claim(model, where: tuple, now: datetime) -> str | None:
    """Claims the ready rows matching ``where``; the token, or None when another sweep took them.
    Commits."""
    token = uuid.uuid4().hex
    claimed = db.session.execute(update(model).where(*where, *ready(model, now)).values(
        status=SENDING, claim_token=token, claimed_at=now), execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    return token if claimed else None


def _set(model, token: str, **values) -> None:
    db.session.execute(update(model).where(model.claim_token == token).values(**values),
                       execution_options={"synchronize_session": False})
    db.session.commit()


def within_budget(model, token: str, corp_id: str, recipient: str, now: datetime) -> bool:
    """The recipient's message/send budget has room (counts this one); else the rows go back."""
    if outreach.reminder_allowed(corp_id, recipient, now):
        return True
    _set(model, token, status=PENDING, claim_token=None, claimed_at=None)
    return False


def deliver(model, token: str, corp_id: str, recipient: str, message: tuple[str, dict[str, Any]], attempts: int,
            now: datetime, what: str) -> str:
    """Send ``message`` (msgtype, content) for the claimed rows and record the outcome on them:
    sent | retry | failed. ``what`` names the rows in the log (no personal data)."""
    msgtype, content = message
    try:
        reply = wecom_client(corp_id).send_app_message(recipient, msgtype, content, enable_duplicate_check=1)
    except LookupError as exc:  # the corp's credentials are gone
        _set(model, token, status=FAILED, attempts=attempts, error=str(exc)[:500])
        return "failed"
    except WeComError as exc:
        if exc.retryable and attempts < MAX_ATTEMPTS:
            _set(model, token, status=PENDING, claim_token=None, attempts=attempts, error=str(exc)[:500],
                 next_attempt_at=now + timedelta(seconds=retry.job_delay(attempts)))
            log.warning("%s to %s: %s; retry %d", what, recipient, exc, attempts)
            return "retry"
        _set(model, token, status=FAILED, attempts=attempts, error=str(exc)[:500])
        log.warning("%s to %s failed: %s", what, recipient, exc)
        return "failed"
    for field in ("invaliduser", "unlicenseduser"):
        if recipient in (reply.get(field) or "").split("|"):
            _set(model, token, status=FAILED, attempts=attempts, error=f"{API}: recipient in {field}")
            log.warning("%s to %s not delivered: %s", what, recipient, field)
            return "failed"
    _set(model, token, status=SENT, attempts=attempts, sent_at=now, error=None, msgid=(reply.get("msgid") or None))
    return "sent"
