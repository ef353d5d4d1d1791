"""Console sessions, kept server-side (ConsoleSession rows).

The browser's cookie holds a random token; the row holds only its SHA-256. Every console request
resolves the token (``resolve``): unknown, expired (the injectable clock, scrm/clock.py) or
belonging to a staff member who has since left, been disabled, or had their sessions revoked
(Staff.session_version raised: the change_contact handlers, `flask scrm staff revoke-sessions`)
means no session, at once. Signing out deletes the row. A session lasts
SCRM_CONSOLE_SESSION_HOURS from sign-in; expired rows are purged whenever someone signs in.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import ConsoleAdmin, ConsoleSession, Staff
from scrm.services.sidebar_session import INACTIVE_STATUSES


@dataclass(frozen=True)
class Principal:
    """Who a console request acts for."""

    session_id: int
    corp_id: str
    kind: str  # "admin" (a local administrator) | "staff" (a member, through WeCom)
    name: str  # what the header shows
    admin_id: int | None = None
    userid: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _start(row: ConsoleSession) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row.token_hash = token_hash(token)
    row.created_at = now
    row.expires_at = now + timedelta(hours=settings().console_session_hours)
    try:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        db.session.add(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return token, row.expires_at


def start_admin(corp_id: str, admin_id: int) -> tuple[str, datetime]:
    """A session for a local administrator whose password was just checked: (token, expiry). Commits."""
    db.session.execute(update(ConsoleAdmin).where(ConsoleAdmin.id == admin_id).values(
        last_login_at=utcnow(), updated_at=ConsoleAdmin.updated_at))
    return _start(ConsoleSession(corp_id=corp_id, admin_id=admin_id))


def start_staff(corp_id: str, userid: str, version: int) -> tuple[str, datetime]:
    """A session for a member WeCom just vouched for, signed in at Staff.session_version ``version``. Commits."""
    return _start(ConsoleSession(corp_id=corp_id, userid=userid, staff_version=version))


def resolve(token: str | None) -> Principal | None:
    """The session's principal while it is valid; None otherwise. Reads only (one or two indexed queries)."""
    if not token or len(token) > 128:
        return None
    found = db.session.execute(
        select(ConsoleSession, ConsoleAdmin.username)
        .outerjoin(ConsoleAdmin, ConsoleAdmin.id == ConsoleSession.admin_id)
        .where(ConsoleSession.token_hash == token_hash(token))).first()
    if found is None:
        return None
    row, username = found
    if row.expires_at <= utcnow():
        return None
    if row.admin_id is not None:
        return Principal(row.id, row.corp_id, "admin", username, admin_id=row.admin_id) if username else None
    member = db.session.execute(select(Staff.name, Staff.left_at, Staff.status, Staff.session_version).where(
        Staff.corp_id == row.corp_id, Staff.userid == row.userid)).first()
    if member is None:
        return None
    name, left_at, status, version = member
    if left_at is not None or status in INACTIVE_STATUSES or (version or 0) != row.staff_version:
        return None
    return Principal(row.id, row.corp_id, "staff", name or row.userid, userid=row.userid)


def end(token: str | None) -> bool:
    """Sign out: the session's row is deleted. Commits. Whether there was one."""
    if not token:
        return False
    try:
        gone = db.session.execute(delete(ConsoleSession).where(
            ConsoleSession.token_hash == token_hash(token))).rowcount
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return bool(gone)
