"""Manager reports (issue #15): daily aggregate tables the reports read, never raw history.

One row per corp, corp-local day (SCRM_TIMEZONE) and staff member (`staff_daily_stat`), written
by set-based SQL in scrm/services/reports/aggregate (the nightly run, today's refresh and
`flask scrm reports rebuild`). Stocks are figures at the end of the day (a report takes them
from its last day); flows are the day's events (a report sums them). See docs/reports.md.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, DailyRun

# The figures of staff_daily_stat: stocks at the end of the day, flows during it.
STAFF_STOCKS = ("customers", "next_overdue", "sop_pending", "recall_pending")
STAFF_FLOWS = ("new_customers", "lost_by_staff", "lost_by_customer", "lost_other", "transferred_out",
               "follow_ups", "next_due", "sop_due", "sop_confirmed", "recall_due", "recall_confirmed",
               "first_replies", "first_reply_seconds")
# Figures the follow-up report drills into (scrm/services/reports/drill.py).
DRILL_FIGURES = ("customers", "new_customers", "next_overdue", "lost_by_staff", "lost_by_customer", "lost_other",
                 "transferred_out")


class StaffFlows:
    """The flows of the follow-up report (STAFF_FLOWS), as the daily rows and the monthly roll-up
    hold them."""

    new_customers: Mapped[int] = mapped_column(default=0)
    lost_by_staff: Mapped[int] = mapped_column(default=0)      # the member deleted the customer
    lost_by_customer: Mapped[int] = mapped_column(default=0)   # the customer deleted the member
    lost_other: Mapped[int] = mapped_column(default=0)         # ended, who ended it unknown
    transferred_out: Mapped[int] = mapped_column(default=0)    # handed over to another member
    follow_ups: Mapped[int] = mapped_column(default=0)
    next_due: Mapped[int] = mapped_column(default=0)
    sop_due: Mapped[int] = mapped_column(default=0)
    sop_confirmed: Mapped[int] = mapped_column(default=0)
    recall_due: Mapped[int] = mapped_column(default=0)
    recall_confirmed: Mapped[int] = mapped_column(default=0)
    first_replies: Mapped[int] = mapped_column(default=0)
    first_reply_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


class StaffDailyStat(StaffFlows, CorpScoped, db.Model):
    """One staff member on one corp-local day: what the follow-up report (跟进报表) adds up.

    Stocks (at the end of the day): customers owned (active relations), next follow-ups overdue
    (due, no later follow-up of that customer by the member), SOP and recall tasks due and still
    unconfirmed. Flows: relations added; ended by the member / by the customer / otherwise
    (deleted_unknown) / handed over; follow-ups written; next follow-ups falling due; SOP and
    recall tasks falling due and confirmed; new customers answered within 24 hours (from the
    archived messages) and the seconds that took in sum."""

    __tablename__ = "staff_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "userid"),
                      Index("ix_staff_daily_stat_user", "corp_id", "userid", "day"))
    day: Mapped[date] = mapped_column(Date)
    userid: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None]  # the member's main department when computed
    customers: Mapped[int] = mapped_column(default=0)
    next_overdue: Mapped[int] = mapped_column(default=0)
    sop_pending: Mapped[int] = mapped_column(default=0)
    recall_pending: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StaffMonthlyStat(StaffFlows, CorpScoped, db.Model):
    """The flows of staff_daily_stat summed per calendar month (corp-local), member and main
    department: a long range reads its whole months here and only its edge days from the daily
    rows (scrm/services/reports/staff_month.py). A member who changed department in a month has a
    row per department, so a department filter adds up exactly what the daily rows would."""

    __tablename__ = "staff_monthly_stat"
    __table_args__ = (Index("ix_staff_monthly_stat_month", "corp_id", "month", "userid"),)
    month: Mapped[date] = mapped_column(Date)  # the month's first day
    userid: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None]
    days: Mapped[int] = mapped_column(default=0)  # daily rows summed (a month in progress: so far)


class ReportRun(DailyRun, db.Model):
    """The nightly aggregation for one corp and local day (one row: it runs once per day)."""

    __tablename__ = "report_run"
    rows: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
