"""The group SOP results of the groups report (客户群报表, issue #15): one row per corp, corp-local
day, plan and group owner, written by set-based SQL (scrm/services/reports/group_sop_day.py) so
the report never scans raw executions. A day is the local day an execution fell due; its outcome
is counted as it stands when the row is built (the nightly run rebuilds the last SETTLE_DAYS)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped

# The figures of group_sop_daily_stat, all flows (the report sums them).
GROUP_SOP_FIGURES = ("executions", "sent", "waiting", "failed", "failed_not_sent", "failed_already_received",
                     "capped", "skipped")
# The groups report's daily series (scrm/services/reports/groups.py).
GROUP_REPORT_SERIES = ("members", "customers", "joins", "leaves", "msg_total", "sop_sent")


class GroupSopDailyStat(CorpScoped, db.Model):
    """Executions of one plan in one owner's groups that fell due on one local day, by outcome:
    sent; waiting (pending, running, or awaiting the owner); failed (of which: the owner never
    sent it, the group already received another mass send); skipped over the monthly cap; skipped
    otherwise (dismissed, no longer a target, member left, stale). Cancelled ones are not counted."""

    __tablename__ = "group_sop_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "plan_id", "owner"),
                      Index("ix_group_sop_daily_stat_owner", "corp_id", "owner", "day"))
    day: Mapped[date] = mapped_column(Date)
    plan_id: Mapped[int]
    owner: Mapped[str] = mapped_column(String(64))  # '' when the group's owner is unknown
    executions: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    waiting: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    failed_not_sent: Mapped[int] = mapped_column(default=0)
    failed_already_received: Mapped[int] = mapped_column(default=0)
    capped: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
