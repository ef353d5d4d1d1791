"""The channel report (渠道报表, issue #15): a daily aggregate per channel code and member, and
the operator's cost of each channel code per month. See docs/reports.md (The channel report).

`channel_daily_stat` has one row per corp, corp-local day, channel code (`channel_id`, 0: no
channel — the add's `follow_relation.state` is empty or matches no channel code), member and the
customer's funnel stage (`stage_id`, 0: none), only where something happened. Two kinds of figures share the row:

* add cohorts, keyed by the day of the add: `adds`, `welcomed` (a welcome message delivered for
  the add), `eligible_7` / `retained_7` and `eligible_30` / `retained_30` (adds at least 7 / 30
  days old when computed, and of those the ones whose relation was not lost within 7 / 30 days),
  `staged` (adds whose customer is in a funnel stage beyond the first). They are stocks of the
  cohort: the nightly run and today's refresh recompute the cohorts of the last 31 days;
* `lost`: relations the channel brought (added whenever) that ended as a loss that day.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped

CHANNEL_COHORT = ("adds", "welcomed", "eligible_7", "retained_7", "eligible_30", "retained_30", "staged")
CHANNEL_FLOWS = ("lost",)
CHANNEL_FIGURES = (*CHANNEL_COHORT, *CHANNEL_FLOWS)
NO_CHANNEL = 0  # channel_id of the adds no channel code brought
NO_STAGE = 0  # stage_id of the adds whose customer has no funnel stage, and of the losses


class ChannelFigures:
    """The dimensions and figures channel_daily_stat and its monthly sums share. A month row's
    department_id is one of the month's when the member moved (the daily rows' is exact)."""

    channel_id: Mapped[int] = mapped_column(default=NO_CHANNEL)
    userid: Mapped[str] = mapped_column(String(64))
    # the add cohort split by the customer's funnel stage when computed (0: none; the losses: 0)
    stage_id: Mapped[int] = mapped_column(default=NO_STAGE)
    department_id: Mapped[int | None]  # the member's main department when computed
    adds: Mapped[int] = mapped_column(default=0)
    welcomed: Mapped[int] = mapped_column(default=0)
    eligible_7: Mapped[int] = mapped_column(default=0)
    retained_7: Mapped[int] = mapped_column(default=0)
    eligible_30: Mapped[int] = mapped_column(default=0)
    retained_30: Mapped[int] = mapped_column(default=0)
    staged: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChannelDailyStat(ChannelFigures, CorpScoped, db.Model):
    """One channel code (0: none), member and corp-local day: what the channel report adds up."""

    __tablename__ = "channel_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "channel_id", "userid", "stage_id"),)
    day: Mapped[date] = mapped_column(Date)


class ChannelMonthStat(ChannelFigures, CorpScoped, db.Model):
    """channel_daily_stat added up per calendar month (the first of the month), written from the
    daily rows by every build of the months it touched: a long range reads its whole months here."""

    __tablename__ = "channel_month_stat"
    __table_args__ = (UniqueConstraint("corp_id", "month", "channel_id", "userid", "stage_id"),)
    month: Mapped[date] = mapped_column(Date)


class ChannelCost(CorpScoped, Timestamped, db.Model):
    """What a channel code cost in a calendar month (the first of the month), in fen (分)."""

    __tablename__ = "channel_cost"
    __table_args__ = (UniqueConstraint("corp_id", "channel_id", "month"),
                      Index("ix_channel_cost_month", "corp_id", "month"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(64))
