"""Local administrators: the console's first sign-in before WeCom login is set up, and in sandbox mode.

Passwords are hashed with werkzeug.security (scrypt, a per-password salt); only the hash is
stored. A wrong username costs as much time as a wrong password (a dummy hash is checked), so
timing tells nothing about which usernames exist.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import ConsoleAdmin, ConsoleSession

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{2,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


class AdminError(ValueError):
    """A refused change; the message is for the operator at the command line."""


@dataclass(frozen=True)
class AdminRow:
    id: int
    username: str
    created_at: datetime
    password_changed_at: datetime
    last_login_at: datetime | None


def normalize(username: str) -> str:
    return (username or "").strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AdminError(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip() != password:
        raise AdminError("the password must not start or end with whitespace")


def _find(corp_id: str, username: str) -> ConsoleAdmin | None:
    return db.session.scalar(select(ConsoleAdmin).filter_by(corp_id=corp_id, username=normalize(username)))


def create(corp_id: str, username: str, password: str) -> AdminRow:
    """A new administrator. Commits. AdminError when the name is taken or not allowed, or the
    password too short."""
    name = normalize(username)
    if not USERNAME.fullmatch(name):
        raise AdminError("the username must be 3-64 characters: letters, digits, _ . @ - (stored lower-case)")
    _check_password(password)
    if _find(corp_id, name) is not None:
        raise AdminError(f"an administrator named {name!r} exists already (use `admin set-password`)")
    admin = ConsoleAdmin(corp_id=corp_id, username=name, password_hash=generate_password_hash(password),
                         password_changed_at=utcnow())
    db.session.add(admin)
    db.session.commit()
    return _row(admin)


def set_password(corp_id: str, username: str, password: str) -> AdminRow:
    """A new password; every session of this administrator ends. Commits."""
    _check_password(password)
    admin = _find(corp_id, username)
    if admin is None:
        raise AdminError(f"no administrator named {normalize(username)!r}")
    admin.password_hash = generate_password_hash(password)
    admin.password_changed_at = utcnow()
    db.session.execute(delete(ConsoleSession).where(ConsoleSession.admin_id == admin.id))
    db.session.commit()
    return _row(admin)


def list_admins(corp_id: str) -> list[AdminRow]:
    return [_row(admin) for admin in db.session.scalars(
        select(ConsoleAdmin).filter_by(corp_id=corp_id).order_by(ConsoleAdmin.username))]


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password-of-anyone")


def authenticate(corp_id: str, username: str, password: str) -> int | None:
    """The administrator's id when the password is theirs, else None. Reads only."""
    admin = _find(corp_id, username) if USERNAME.fullmatch(normalize(username)) else None
    if admin is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    return admin.id if check_password_hash(admin.password_hash, password or "") else None


def _row(admin: ConsoleAdmin) -> AdminRow:
    return AdminRow(admin.id, admin.username, admin.created_at, admin.password_changed_at, admin.last_login_at)
