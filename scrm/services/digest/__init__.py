"""The morning digest (issue #15, part 8; docs/reports.md): at SCRM_DIGEST_AT, each manager gets
an app message with yesterday's key figures of their team and a link to the follow-up report;
each member with overdue next follow-ups gets their own list.

planning: the once-a-day rows (after the night's report aggregation); cards: what the template
cards say; the sending half here: one message per row, exactly once, through the shared
scrm/services/app_messages.py (claim, per-member budget, retries)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import DigestMessage
from scrm.services import app_messages
from scrm.services.digest.cards import compose
from scrm.services.digest.planning import plan, plan_due

__all__ = ["plan", "plan_due", "send_pending", "sweep"]

ROWS_PER_SWEEP = 500


def send_one(row_id: int, now: datetime) -> str:
    """nothing (another sweep took it) | waiting (budget) | sent | retry | failed."""
    token = app_messages.claim(DigestMessage, (DigestMessage.id == row_id,), now)
    if token is None:
        return "nothing"
    row = db.session.scalar(select(DigestMessage).where(DigestMessage.claim_token == token))
    corp_id, userid, attempts = row.corp_id, row.userid, row.attempts + 1
    if not app_messages.within_budget(DigestMessage, token, corp_id, userid, now):
        return "waiting"
    message = compose(row)
    db.session.commit()
    return app_messages.deliver(DigestMessage, token, corp_id, userid, message, attempts, now, "morning digest")


def send_pending(now: datetime) -> int:
    """Every ready row, one message each. Returns the messages sent."""
    app_messages.release_stale(DigestMessage, now)
    ids = db.session.scalars(select(DigestMessage.id).where(*app_messages.ready(DigestMessage, now))
                             .order_by(DigestMessage.id).limit(ROWS_PER_SWEEP)).all()
    db.session.commit()
    return sum(send_one(row_id, now) == "sent" for row_id in ids)


def sweep(now: datetime | None = None) -> int:
    """The `digest` sweep (every minute): plan today's digest once due, then send what is ready."""
    now = now or utcnow()
    plan_due(now)
    return send_pending(now)
