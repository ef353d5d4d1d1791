"""Mobile masking and the audit log. Who may see which customer or group is decided by the one
access policy, scrm/services/policy (roles, data scopes, the sidebar's checks)."""
from __future__ import annotations

from sqlalchemy import insert

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import AuditLog

# One Core INSERT, built once: every sidebar profile view writes a row, and an ORM object
# (identity map, unit of work at flush) cost more CPU than the statement itself. Inline: the
# new id is not fetched back (no RETURNING).
_INSERT = insert(AuditLog.__table__).inline()


def mask_mobile(mobile: str) -> str:
    """138****5678: the first 3 and last 4 digits of a mobile; shorter numbers keep the last 2."""
    if len(mobile) >= 8:
        return mobile[:3] + "*" * (len(mobile) - 7) + mobile[-4:]
    return "*" * max(len(mobile) - 2, 0) + mobile[-2:]


def audit(corp_id: str, userid: str, action: str, target_type: str, target_id: str, *,
          detail: dict | None = None, ip: str | None = None) -> None:
    """One audit row in the caller's transaction (the caller commits; a rollback drops it)."""
    db.session.execute(_INSERT, {"corp_id": corp_id, "userid": userid, "action": action,
                                 "target_type": target_type, "target_id": target_id, "detail": detail,
                                 "ip": ip, "at": utcnow()})
