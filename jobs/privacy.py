"""Retention of personal data: the periodic purge (decrypted inbox payloads after
INBOX_PAYLOAD_RETENTION_DAYS, audit rows after AUDIT_RETENTION_DAYS)."""
from __future__ import annotations

from datetime import datetime

from scrm.services import privacy


def purge_personal_data(now: datetime | None = None) -> int:
    """Rows purged (payloads blanked plus audit rows deleted)."""
    return sum(privacy.purge_expired(now).values())
