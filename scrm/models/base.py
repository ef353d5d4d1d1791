"""Shared column helpers. Every business row carries corp_id (the WeCom CorpID)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from scrm.clock import utcnow


class CorpScoped:
    id: Mapped[int] = mapped_column(primary_key=True)
    corp_id: Mapped[str] = mapped_column(String(64), index=True)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class DailyRun(CorpScoped):
    """A once-a-day run of one corp (the nightly group statistics, churn scoring, report
    aggregation, the digests): one row per corp and local day, so any number of schedulers run it
    once (claimed by scrm/services/daily_runs.py); a failed run is tried again up to its attempts."""

    run_day: Mapped[date] = mapped_column(Date)  # the corp-local day the run belongs to
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805 - a declared attribute of the mapped class
        return (UniqueConstraint("corp_id", "run_day"),)
