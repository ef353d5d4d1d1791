"""The console's own sign-in (issue #14): local administrators and server-side sessions.

A ConsoleSession row is one signed-in browser: the cookie holds a random token, the row only its
SHA-256, so a copy of the table signs nobody in. Signing out deletes the row; it ends by itself at
``expires_at`` (scrm/services/console/sessions.py). A session is either a local administrator's
(``admin_id``) or a staff member's signed in through WeCom (``userid`` with the
Staff.session_version it was signed in with, so a departure or a revoke ends it at once).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class ConsoleAdmin(CorpScoped, Timestamped, db.Model):
    """A local administrator (`flask scrm admin create`): first set-up, and sandbox mode."""

    __tablename__ = "console_admin"
    __table_args__ = (UniqueConstraint("corp_id", "username"),)
    username: Mapped[str] = mapped_column(String(64))  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))  # werkzeug.security (scrypt)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsoleSession(CorpScoped, db.Model):
    """One signed-in browser."""

    __tablename__ = "console_session"
    __table_args__ = (Index("ix_console_session_expires_at", "expires_at"),)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the cookie's token
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("console_admin.id", ondelete="CASCADE"), index=True)
    userid: Mapped[str | None] = mapped_column(String(64))  # a staff member (WeCom web login)
    staff_version: Mapped[int] = mapped_column(Integer, default=0)  # Staff.session_version at sign-in
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
