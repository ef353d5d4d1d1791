"""Sending pending churn alerts: one `message/send` per recipient and sweep, holding all of that
recipient's pending alerts (the `churn-alerts` sweep, every 15 s).

* Batching: a recipient is due once their oldest pending alert is SCRM_CHURN_ALERT_BATCH_SECONDS
  old (default 20 s), so the rest of a burst joins it; a burst of 50 deletions becomes one or two
  messages per recipient, each within a minute of its deletion.
* Exactly once, within message/send's per-member budget, retried or failed by the WeCom error:
  scrm/services/app_messages.py (shared with the morning digest).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from scrm.config import settings
from scrm.extensions import db
from scrm.models import ChurnAlert
from scrm.services import app_messages
from scrm.services.churn_alerts.texts import compose

log = logging.getLogger(__name__)

RECIPIENTS_PER_SWEEP = 500


def due_recipients(now: datetime) -> list[tuple[str, str]]:
    """(corp_id, recipient) whose oldest ready alert has waited out the batch window."""
    cutoff = now - timedelta(seconds=settings().churn_alert_batch_seconds)
    rows = db.session.execute(
        select(ChurnAlert.corp_id, ChurnAlert.recipient_userid).where(*app_messages.ready(ChurnAlert, now))
        .group_by(ChurnAlert.corp_id, ChurnAlert.recipient_userid)
        .having(func.min(ChurnAlert.created_at) <= cutoff)
        .order_by(func.min(ChurnAlert.created_at)).limit(RECIPIENTS_PER_SWEEP)).all()
    db.session.commit()
    return [(corp_id, recipient) for corp_id, recipient in rows]


def send_to(corp_id: str, recipient: str, now: datetime) -> str:
    """Claim and send the recipient's ready alerts as one message. Returns what happened:
    nothing | waiting (budget) | sent | retry | failed."""
    token = app_messages.claim(ChurnAlert, (ChurnAlert.corp_id == corp_id, ChurnAlert.recipient_userid == recipient,
                                            ChurnAlert.created_at <= now), now)
    if token is None:
        return "nothing"  # another sweep took them
    if not app_messages.within_budget(ChurnAlert, token, corp_id, recipient, now):
        return "waiting"
    rows = list(db.session.scalars(select(ChurnAlert).where(ChurnAlert.claim_token == token)
                                   .order_by(ChurnAlert.created_at, ChurnAlert.id)))
    attempts = max(row.attempts for row in rows) + 1
    message = compose(corp_id, recipient, rows)
    db.session.commit()
    return app_messages.deliver(ChurnAlert, token, corp_id, recipient, message, attempts, now, "churn alerts")


def send_pending(now: datetime) -> int:
    """The sweep's sending half. Returns the messages sent."""
    app_messages.release_stale(ChurnAlert, now)
    sent = 0
    for corp_id, recipient in due_recipients(now):
        sent += send_to(corp_id, recipient, now) == "sent"
    return sent
