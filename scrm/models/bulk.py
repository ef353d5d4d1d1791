"""Bulk actions on customers (issue #14 part 4): a job per action (add or remove tags, start an
SOP, reassign) over an audience of relations, and one item per relation with what became of it.
The work is scrm/services/bulk; docs/bulk-actions.md."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped


class BulkKind(StrEnum):
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    START_SOP = "start_sop"
    REASSIGN = "reassign"  # 在职转接, through a handover batch per current owner


class BulkStatus(StrEnum):
    QUEUED = "queued"        # created; a run job builds the items and starts on them
    RUNNING = "running"      # items being processed (or, reassign: the handover batches running)
    DONE = "done"            # every item settled
    FAILED = "failed"        # the job could not go on (its SOP deleted, the audience gone)
    CANCELLED = "cancelled"  # cancelled: items not processed yet are cancelled


class BulkItemStatus(StrEnum):
    PENDING = "pending"      # not processed yet
    WAITING = "waiting"      # reassign: WeCom started the transfer, the customer may refuse (24 h)
    DONE = "done"
    FAILED = "failed"        # `reason` says why (a WeCom errcode explained, a limit)
    SKIPPED = "skipped"      # nothing to do (already tagged, already in the SOP, already the member's)
    CANCELLED = "cancelled"  # the job was cancelled first


SETTLED = (BulkItemStatus.DONE, BulkItemStatus.FAILED, BulkItemStatus.SKIPPED, BulkItemStatus.CANCELLED)


class BulkJob(CorpScoped, db.Model):
    __tablename__ = "bulk_job"
    __table_args__ = (Index("ix_bulk_job_corp_created", "corp_id", "created_at"),
                      Index("ix_bulk_job_due", "status", "lease_until"))
    kind: Mapped[str] = mapped_column(String(16))
    # who: {"external_userids": [...], "senders": [...]} or {"segment_id": …} / {"filters": {...}}, as asked
    audience: Mapped[dict] = mapped_column(JSON)
    # add_tags / remove_tags: {"tag_ids"}; start_sop: {"sop_id"}; reassign: {"takeover_userid",
    # "transfer_success_msg"}
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=BulkStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    runs: Mapped[int] = mapped_column(default=0)  # times a worker claimed it
    # a worker holds the job until then (renewed per batch); past it, the job is free to be
    # claimed again: a released job (lease_until = when to go on) or a dead worker's
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(DateTime)  # items written
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class BulkJobItem(CorpScoped, db.Model):
    """One relation (customer, staff member) of a job."""

    __tablename__ = "bulk_job_item"
    __table_args__ = (UniqueConstraint("job_id", "relation_id"),
                      Index("ix_bulk_job_item_status", "job_id", "status", "id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_job.id"))
    relation_id: Mapped[int]
    external_userid: Mapped[str] = mapped_column(String(64))
    userid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=BulkItemStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)  # retryable WeCom failures so far
    errcode: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)  # why failed or skipped, in words (Chinese UI text)
    handover_item_id: Mapped[int | None] = mapped_column(index=True)  # reassign: the transfer it follows
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
