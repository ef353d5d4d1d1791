"""The groups report's aggregates (客户群报表, issue #15), written by set-based SQL so a report never
scans raw history or per-group rows:

* group_owner_daily_rollup — one row per corp, corp-local day and group owner: issue #12's
  group_daily_stat summed over the owner's groups (scrm/services/reports/group_owner_day.py);
* group_sop_daily_stat — one row per corp, local day, SOP plan and owner: the executions that
  fell due that day by outcome, as it stands when the row is built (the nightly run rebuilds the
  last SETTLE_DAYS; scrm/services/reports/group_sop_day.py)."""
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
# The figures of group_owner_daily_rollup: stocks at the end of the day, then the day's flows.
OWNER_ROLLUP_STOCKS = ("groups", "members", "customers", "staff")
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


class GroupOwnerDailyRollup(CorpScoped, db.Model):
    """One owner's groups on one local day: groups with members at the end of the day, their
    members (customers, staff) and the day's joins and leaves by scene — group_daily_stat summed
    per owner ('' for groups whose owner is unknown)."""

    __tablename__ = "group_owner_daily_rollup"
    __table_args__ = (UniqueConstraint("corp_id", "day", "owner"),
                      Index("ix_group_owner_daily_rollup_owner", "corp_id", "owner", "day"))
    day: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(64))
    groups: Mapped[int] = mapped_column(default=0)
    members: Mapped[int] = mapped_column(default=0)
    customers: Mapped[int] = mapped_column(default=0)
    staff: Mapped[int] = mapped_column(default=0)
    joins: Mapped[int] = mapped_column(default=0)
    joins_invite: Mapped[int] = mapped_column(default=0)
    joins_link: Mapped[int] = mapped_column(default=0)
    joins_qrcode: Mapped[int] = mapped_column(default=0)
    joins_group_code: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    leaves_self: Mapped[int] = mapped_column(default=0)
    leaves_removed: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
