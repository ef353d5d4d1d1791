"""The churn and recall report's aggregates (流失与召回报表, issue #15 part 5), written by
set-based SQL in scrm/services/reports/churn_day.py, risk_day.py and recall_day.py:

* `churn_daily_stat`: flows per corp-local day, member and channel code — a row only where a
  flow is not zero (a report sums a year of them quickly);
* `risk_daily_stat`: stocks per day and member — relations at each risk level at the end of the
  day (a report reads the rows of one day, its last);
* `recall_daily_stat`: per day, recall playbook and member.

See docs/reports.md.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped

RISK_LEVELS = ("active", "cooling", "dormant", "lost")  # scrm.models.churn.RiskLevel, in order
CHURN_LOSSES = ("lost_by_staff", "lost_by_customer", "lost_other")
CHURN_MOVES = tuple(f"entered_{level}" for level in RISK_LEVELS)
CHURN_FLOWS = (*CHURN_LOSSES, *CHURN_MOVES)
RISK_STOCKS = tuple(f"risk_{level}" for level in RISK_LEVELS)
RECALL_FLOWS = ("sent", "confirmed", "re_engaged", "expired")


class ChurnFlows:
    """The churn report's flows (CHURN_FLOWS) per member and channel code, as the daily rows and
    their monthly sums hold them."""

    userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int | None]  # the member's main department when computed
    lost_by_staff: Mapped[int] = mapped_column(default=0)
    lost_by_customer: Mapped[int] = mapped_column(default=0)
    lost_other: Mapped[int] = mapped_column(default=0)
    entered_active: Mapped[int] = mapped_column(default=0)
    entered_cooling: Mapped[int] = mapped_column(default=0)
    entered_dormant: Mapped[int] = mapped_column(default=0)
    entered_lost: Mapped[int] = mapped_column(default=0)


class ChurnDailyStat(ChurnFlows, CorpScoped, db.Model):
    """One member and channel code (`follow_relation.state`, "" without one) on one local day,
    written only when a figure is not zero: relations ended that day by the member, by the
    customer, or found gone by a sync; relations whose risk level changed that day into each
    level (a relation's first level is not a move)."""

    __tablename__ = "churn_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid", "state"),
                      Index("ix_churn_daily_stat_user", "corp_id", "userid", "day"))
    day: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)  # the first day of the day's month: the report groups by it
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChurnMonthStat(ChurnFlows, CorpScoped, db.Model):
    """churn_daily_stat summed per calendar month (`month`: its first day), member, channel code
    and department, rebuilt from the daily rows for every month a build touches: a long range
    reads its whole months here and only its edge days from the daily rows."""

    __tablename__ = "churn_month_stat"
    __table_args__ = (Index("ix_churn_month_stat_month", "corp_id", "month"),)
    month: Mapped[date] = mapped_column(Date)


class RiskDailyStat(CorpScoped, db.Model):
    """One member's relations (relation_risk rows) at each risk level at the end of one local
    day; a member with none has no row."""

    __tablename__ = "risk_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid"),)
    day: Mapped[date] = mapped_column(Date)
    userid: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None]
    risk_active: Mapped[int] = mapped_column(default=0)
    risk_cooling: Mapped[int] = mapped_column(default=0)
    risk_dormant: Mapped[int] = mapped_column(default=0)
    risk_lost: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecallDailyStat(CorpScoped, db.Model):
    """One recall playbook and member on one local day, by the day the recalls went out
    (`recall.sent_at`, as the playbook's own figures count them): recalls sent, confirmed
    (mass send reported sent, or sent from the sidebar), re-engaged (outcome won: a reply, a
    follow-up or a re-add within the window) and expired (the window passed without one)."""

    __tablename__ = "recall_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "playbook_id", "userid"),)
    day: Mapped[date] = mapped_column(Date)
    playbook_id: Mapped[int]
    userid: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None]
    sent: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    re_engaged: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
