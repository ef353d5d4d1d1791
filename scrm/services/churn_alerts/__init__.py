"""Churn alerts (issue #13, part 3; docs/churn-alerts.md): app messages to a member and their
manager when a customer deletes the member, a daily digest of newly dormant customers, and a
manager alert when a member loses or deletes unusually many customers in a day.

record: rows written by the callback handlers; digest: the daily dormant rows; sending: the
`churn-alerts` sweep's one message per recipient; texts: what the messages say; queries: the
Open API's list."""
from __future__ import annotations

from datetime import datetime

from scrm.clock import utcnow
from scrm.services.churn_alerts.digest import create_digests
from scrm.services.churn_alerts.queries import list_query
from scrm.services.churn_alerts.record import check_anomaly, customer_deleted, member_deleted_customer
from scrm.services.churn_alerts.sending import send_pending

__all__ = ["check_anomaly", "create_digests", "customer_deleted", "list_query", "member_deleted_customer",
           "send_pending", "sweep"]


def sweep(now: datetime | None = None) -> int:
    """The `churn-alerts` sweep: today's dormant digest rows once due, then every recipient's
    pending alerts. Returns the messages sent."""
    now = now or utcnow()
    create_digests(now)
    return send_pending(now)
