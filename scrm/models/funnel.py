"""The funnel report's aggregate (issue #15 part 3): relations per funnel stage, member and
channel per corp-local day (`stage_daily_stat`), written by scrm/services/reports/stage_day.py.

A row exists only where something is non-zero (a relation in the stage at the end of the day, an
entry into it that day, or entries into it so far): a missing row is zeros. `entered_total` is
cumulative, so a range's entries are read from two days (its last, and its first) instead of a
sum over every day; `stage_daily_total` holds the whole corp's figures per day and stage for the
unfiltered chart. See docs/reports.md (The funnel report)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped


class StageDailyStat(CorpScoped, db.Model):
    """One funnel stage × member × channel code on one corp-local day.

    `customers` (stock): the member's relations whose customer is in the stage at the end of the
    day (the customer's stage, customer_stage, counted once per relation following them);
    `entered` (flow): stage changes into the stage that day while the relation was active;
    `entered_total`: the entries up to the end of the day (a running total)."""

    __tablename__ = "stage_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "stage_id", "userid", "state"),
                      Index("ix_stage_daily_stat_user", "corp_id", "userid", "day"),
                      # a department's series reads its rows of the chart's days, not every member's
                      Index("ix_stage_daily_stat_department", "corp_id", "department_id", "day"))
    day: Mapped[date] = mapped_column(Date)
    stage_id: Mapped[int]
    userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64), default="")  # follow_relation.state; "" none
    department_id: Mapped[int | None]  # the member's main department when computed
    customers: Mapped[int] = mapped_column(default=0)
    entered: Mapped[int] = mapped_column(default=0)
    entered_total: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StageDailyTotal(CorpScoped, db.Model):
    """The whole corp's stage_daily_stat per corp-local day and stage (the unfiltered chart)."""

    __tablename__ = "stage_daily_total"
    __table_args__ = (UniqueConstraint("corp_id", "day", "stage_id"),)
    day: Mapped[date] = mapped_column(Date)
    stage_id: Mapped[int]
    customers: Mapped[int] = mapped_column(default=0)
    entered: Mapped[int] = mapped_column(default=0)
