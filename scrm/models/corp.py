"""Corps, their departments and staff, and Open API tokens."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class Corp(Timestamped, db.Model):
    """A WeCom corp served by this deployment. The corp from the environment gets a row
    too (created on first use); further corps are registered with `flask scrm corp add`."""

    __tablename__ = "corp"
    corp_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[int | None]
    # Credentials of corps registered through the CLI (the env corp's stay in the env), sealed
    # with SCRM_DATA_KEY (scrm/secretbox.py); rows written before that hold plaintext.
    secret: Mapped[str | None] = mapped_column(String(512))
    token: Mapped[str | None] = mapped_column(String(512))
    aes_key: Mapped[str | None] = mapped_column(String(512))


class Department(CorpScoped, Timestamped, db.Model):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("corp_id", "dept_id"),)
    dept_id: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None]
    order: Mapped[int | None]
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class Staff(CorpScoped, Timestamped, db.Model):
    """A member (成员) of the corp."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("corp_id", "userid"),)
    userid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(128))
    alias: Mapped[str | None] = mapped_column(String(128))
    position: Mapped[str | None] = mapped_column(String(128))
    mobile: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    gender: Mapped[int | None]
    avatar: Mapped[str | None] = mapped_column(String(512))
    department_ids: Mapped[list | None] = mapped_column(JSON)
    main_department: Mapped[int | None]
    # WeCom's is_leader_in_dept, aligned with department_ids (1: leads that department): the
    # 离职继承 "manager" rule proposes a leaver's department leader (scrm/services/handover).
    is_leader_in_dept: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[int | None]  # WeCom: 1 active, 2 disabled, 4 not activated, 5 left
    left_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Sidebar sessions carry the version they were signed in with (sidebar/auth.py); raising it
    # signs the member out everywhere (scrm/services/sidebar_session.py).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TokenScope(StrEnum):
    """What an Open API token may do; each scope includes the ones before it."""

    READ = "read"  # GET
    WRITE = "write"  # POST / PUT / PATCH / DELETE
    ADMIN = "admin"  # staff roles and erasing a customer's personal data


class ApiToken(db.Model):
    """Bearer token for the Open API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    scope: Mapped[str] = mapped_column(String(8), default=TokenScope.ADMIN, server_default=TokenScope.ADMIN.value)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
