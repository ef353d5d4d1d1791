"""Synchronisation runs: one row per full/partial copy of a corp's WeCom data (scrm/services/sync).

The row is the job's whole state: what to sync, how far it got (stage, per-stage counts, the
cursor checkpoint), what went wrong (errcodes), and who is running it (runner + heartbeat), so
a killed run resumes where it stopped.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db


class SyncStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every stage completed (item errors, if any, are in `errors`)
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)
SCOPES = ("staff", "tags", "customers", "groups")  # what a run may cover; also the order its stages run in
_ACTIVE = text("status IN ('queued', 'running')")


class SyncRun(db.Model):
    __tablename__ = "sync_run"
    __table_args__ = (
        # At most one queued or running sync per corp, enforced by the database itself.
        Index("uq_sync_run_active_corp", "corp_id", unique=True,
              sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
        # A scheduled sync (e.g. "nightly:2024-05-01") starts once per key.
        UniqueConstraint("corp_id", "trigger_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list] = mapped_column(JSON)  # stages to run: staff, tags, customers, groups
    full: Mapped[bool] = mapped_column(default=False)  # reconcile: mark what WeCom no longer lists
    status: Mapped[str] = mapped_column(String(16), default=SyncStatus.QUEUED)
    stage: Mapped[str | None] = mapped_column(String(16))  # the stage running or last run
    # stage → {"status", "done", "total", "errors", ...}; rewritten with every page committed.
    progress: Mapped[dict] = mapped_column(JSON, default=dict)
    # The running stage's resume point: {"chains": {"0": {"cursor", "state"}}, ...}.
    checkpoint: Mapped[dict] = mapped_column(JSON, default=dict)
    # Inputs fixed when a stage starts (the staff batches), so a resumed stage pages the same way.
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # the first MAX_ERRORS, with errcode
    error_count: Mapped[int] = mapped_column(default=0)
    requested_by: Mapped[str | None] = mapped_column(String(64))  # cli | api:<token> | nightly
    trigger_key: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)  # times a process claimed it
    runner: Mapped[str | None] = mapped_column(String(64))  # the claiming process's random token
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
