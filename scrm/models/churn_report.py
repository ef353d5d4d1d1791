"""The churn and recall report's aggregates (流失与召回报表, issue #15 part 5): one row per corp,
corp-local day, staff member and channel code (`churn_daily_stat`), and per corp, day, recall
playbook and member (`recall_daily_stat`), written by set-based SQL in
scrm/services/reports/churn_day.py and recall_day.py. See docs/reports.md.

Rows are sparse: a (member, channel) pair has a row on a day when one of its figures is not zero
(a stock, or a flow of that day), so a report reads the stocks from the rows of its last day
(a missing pair is zero) and sums the flows over the range.
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
CHURN_STOCKS = tuple(f"risk_{level}" for level in RISK_LEVELS)
RECALL_FLOWS = ("sent", "confirmed", "re_engaged", "expired")


class ChurnDailyStat(CorpScoped, db.Model):
    """One member and channel code (`follow_relation.state`, "" without one) on one local day.

    Flows: relations ended that day by the member, by the customer, or found gone by a sync;
    relations whose risk level changed that day into each level (a relation's first level is
    not a move). Stocks at the end of the day: the member's relations (relation_risk rows) at
    each risk level."""

    __tablename__ = "churn_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid", "state"),
                      Index("ix_churn_daily_stat_user", "corp_id", "userid", "day"))
    day: Mapped[date] = mapped_column(Date)
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
