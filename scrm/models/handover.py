"""Staff departure (离职继承) and on-the-job reassignment (在职转接): a handover batch lists one
member's customers and groups, each with a proposed successor; a manager approves it; WeCom's
transfer APIs carry it out and the results are polled (scrm/services/handover)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class HandoverKind(StrEnum):
    RESIGNED = "resigned"  # 离职继承: resigned/transfer_customer, groupchat/transfer
    ONJOB = "onjob"        # 在职转接: transfer_customer (with a message to the customer), groupchat/onjob_transfer


class BatchStatus(StrEnum):
    PROPOSED = "proposed"    # successors proposed; waiting for a manager's approval
    APPROVED = "approved"    # approved; the job starts the transfers
    RUNNING = "running"      # transfers started; some customers have not answered yet (24 h)
    DONE = "done"            # every item final
    CANCELLED = "cancelled"


class ItemStatus(StrEnum):
    PROPOSED = "proposed"    # in a batch not yet run
    WAITING = "waiting"      # WeCom started the transfer; the customer may refuse within 24 h
    DONE = "done"            # transferred; our records moved to the successor
    REFUSED = "refused"      # the customer refused (transfer_fail customer_refused / status 3)
    LIMIT = "limit"          # a WeCom limit: 2 transfers per 90 days, the successor's customer cap
    FAILED = "failed"        # WeCom refused the transfer (errcode in `errcode`, explained in `reason`)
    CANCELLED = "cancelled"  # the batch was cancelled before it ran, or the item was dropped


FINAL = (ItemStatus.DONE, ItemStatus.REFUSED, ItemStatus.LIMIT, ItemStatus.FAILED, ItemStatus.CANCELLED)


class HandoverBatch(CorpScoped, Timestamped, db.Model):
    __tablename__ = "handover_batch"
    __table_args__ = (Index("ix_handover_batch_status", "status"),
                      Index("ix_handover_batch_handover", "corp_id", "handover_userid"))
    kind: Mapped[str] = mapped_column(String(16))
    handover_userid: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(16))  # manager | workload | manual
    team: Mapped[list | None] = mapped_column(JSON)  # workload: the userids it spreads across
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PROPOSED)
    transfer_success_msg: Mapped[str | None] = mapped_column(Text)  # on the job: sent to the customer
    created_by: Mapped[str | None] = mapped_column(String(64))  # "change_contact" or the API token's name
    approved_by: Mapped[str | None] = mapped_column(String(64))  # the approving manager's userid
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)


class HandoverItem(CorpScoped, Timestamped, db.Model):
    """One customer (or one group) of a batch and its successor."""

    __tablename__ = "handover_item"
    __table_args__ = (UniqueConstraint("batch_id", "target", "target_id"),
                      Index("ix_handover_item_check", "status", "next_check_at"),
                      Index("ix_handover_item_target", "corp_id", "target_id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("handover_batch.id"), index=True)
    target: Mapped[str] = mapped_column(String(16))  # customer | group
    target_id: Mapped[str] = mapped_column(String(64))  # external_userid | chat_id
    takeover_userid: Mapped[str | None] = mapped_column(String(64))  # None: no successor found yet
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.PROPOSED)
    errcode: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)  # why it is not done, in words (Chinese UI text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)  # WeCom accepted the transfer
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)  # the next transfer_result poll
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    moved_at: Mapped[datetime | None] = mapped_column(DateTime)  # our records moved to the successor
