"""Recall playbooks (issue #13 part 4): what happens when a relation enters a risk level, and one
row per recall made, with its delivery and its outcome (re-engaged within the window or not).

The set-based creation, delivery and outcome sweeps are scrm/services/recall; docs/recall.md."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class RecallTrigger(StrEnum):
    COOLING = "cooling"                          # level cooling
    DORMANT = "dormant"                          # level dormant
    LOST = "lost"                                # level lost by silence (reason silent)
    DELETED_BY_CUSTOMER = "deleted_by_customer"  # level lost: the customer deleted the member


class RecallAction(StrEnum):
    MASS_SEND = "mass_send"  # a 1:1 add_msg_template task for the owner
    REMINDER = "reminder"    # a message/send card opening the sidebar with the script ready
    CONTACT = "contact"      # deleted_by_customer: reach the customer another way (remark mobile)


class PlaybookStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"    # no new recalls; due ones wait (and are skipped when stale)
    DELETED = "deleted"  # pending recalls cancelled


class RecallStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"      # claimed by one job (UPDATE … WHERE status='pending')
    AWAITING = "awaiting"    # mass-send task created; waiting for the staff member to send it
    SENT = "sent"            # delivered (mass send confirmed, reminder / contact card sent)
    FAILED = "failed"
    SKIPPED = "skipped"      # stale, relation changed meanwhile
    CANCELLED = "cancelled"  # playbook deleted


class RecallOutcome(StrEnum):
    WON = "won"    # re-engaged within the window: a reply, a follow-up or a re-add
    LOST = "lost"  # the window passed without one


class RecallPlaybook(CorpScoped, Timestamped, db.Model):
    __tablename__ = "recall_playbook"
    name: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))
    # {"tag_ids": [...], "stage_ids": [...]}: each list, when non-empty, must match (any of its
    # items: a corp tag on the relation, the customer's funnel stage); all lists must match.
    segment: Mapped[dict] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)  # the recall content / suggested script
    attachments: Mapped[list] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(default=100)  # lowest wins when several match
    cooldown_days: Mapped[int | None]  # None: SCRM_RECALL_COOLDOWN_DAYS
    status: Mapped[str] = mapped_column(String(16), default=PlaybookStatus.ACTIVE)


class Recall(CorpScoped, db.Model):
    """One recall of one relation, made by one playbook when the relation entered its level."""

    __tablename__ = "recall"
    __table_args__ = (
        # one recall per entry into a level (the creation is repeatable)
        UniqueConstraint("relation_id", "entered_at"),
        Index("ix_recall_due", "status", "due_at"),
        Index("ix_recall_check", "status", "next_check_at"),
        # the cool-down and the sidebar: a relation's recalls
        Index("ix_recall_relation", "corp_id", "userid", "external_userid", "created_at"),
        Index("ix_recall_open_outcome", "outcome", "window_ends_at"),
        Index("ix_recall_playbook", "playbook_id", "sent_at"),
    )
    playbook_id: Mapped[int] = mapped_column(ForeignKey("recall_playbook.id"))
    relation_id: Mapped[int]  # follow_relation.id
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[datetime] = mapped_column(DateTime)  # relation_risk.level_changed_at
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=RecallStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    content: Mapped[dict | None] = mapped_column(JSON)  # what was sent (rendered)
    msgid: Mapped[str | None] = mapped_column(String(128))  # add_msg_template
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(32))  # WeCom send result, e.g. not_friend
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    window_ends_at: Mapped[datetime | None] = mapped_column(DateTime)  # sent_at + SCRM_RECALL_WINDOW_DAYS
    sent_from_sidebar_at: Mapped[datetime | None] = mapped_column(DateTime)  # reminder / contact: done
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(8))
    outcome_by: Mapped[str | None] = mapped_column(String(16))  # reply | follow_up | re_add
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecallScan(CorpScoped, db.Model):
    """The last nightly churn run whose level changes were turned into recalls (per corp)."""

    __tablename__ = "recall_scan"
    __table_args__ = (UniqueConstraint("corp_id"),)
    churn_run_id: Mapped[int]
    scanned_at: Mapped[datetime] = mapped_column(DateTime)
