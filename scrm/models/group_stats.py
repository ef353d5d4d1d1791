"""Group analytics (issue #12): a row per group per corp-local day computed from group_member
(scrm.services.group_stats.aggregate), a row per owner per day with WeCom's own figures from
`groupchat/statistic` (docs/wecom/api.md#group-statistics), and a record of each nightly pull."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, DailyRun

# Columns of GroupDailyStat that are counts (the API sums the flows, takes the last day of the stocks).
GROUP_STOCKS = ("members", "customers", "staff")
GROUP_FLOWS = ("joins", "joins_invite", "joins_link", "joins_qrcode", "joins_group_code",
               "leaves", "leaves_self", "leaves_removed")
OWNER_FIGURES = ("new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total",
                 "member_has_msg", "msg_total")
OWNER_STOCKS = ("chat_total", "member_total")


class GroupDailyStat(CorpScoped, db.Model):
    """One group on one corp-local day (SCRM_TIMEZONE): members at the end of the day and the
    day's joins and leaves. Rebuilt from group_member as a whole (delete + insert … select)."""

    __tablename__ = "group_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "chat_id"),
                      Index("ix_group_daily_stat_owner", "corp_id", "owner", "day"))
    day: Mapped[date] = mapped_column(Date)
    chat_id: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(64))  # the group's owner when computed
    members: Mapped[int] = mapped_column(default=0)     # at the end of the day
    customers: Mapped[int] = mapped_column(default=0)   # type 2 (external contacts) among them
    staff: Mapped[int] = mapped_column(default=0)       # type 1 (staff members) among them
    joins: Mapped[int] = mapped_column(default=0)
    joins_invite: Mapped[int] = mapped_column(default=0)   # join_scene 1 direct invitation
    joins_link: Mapped[int] = mapped_column(default=0)     # join_scene 2 invitation link
    joins_qrcode: Mapped[int] = mapped_column(default=0)   # join_scene 3 group QR code
    joins_group_code: Mapped[int] = mapped_column(default=0)  # state of one of our group codes
    leaves: Mapped[int] = mapped_column(default=0)
    leaves_self: Mapped[int] = mapped_column(default=0)     # quit_scene 0 left by themselves
    leaves_removed: Mapped[int] = mapped_column(default=0)  # quit_scene 1 removed by owner/admin
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupOwnerDailyStat(CorpScoped, db.Model):
    """WeCom's figures for one owner's groups on one day (WeCom days are China Standard Time)."""

    __tablename__ = "group_owner_daily_stat"
    __table_args__ = (UniqueConstraint("corp_id", "day", "owner"),
                      Index("ix_group_owner_daily_stat_owner", "corp_id", "owner", "day"))
    day: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(64))
    new_chat_cnt: Mapped[int] = mapped_column(default=0)
    chat_total: Mapped[int] = mapped_column(default=0)
    chat_has_msg: Mapped[int] = mapped_column(default=0)
    new_member_cnt: Mapped[int] = mapped_column(default=0)
    member_total: Mapped[int] = mapped_column(default=0)
    member_has_msg: Mapped[int] = mapped_column(default=0)
    msg_total: Mapped[int] = mapped_column(default=0)
    pulled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupStatsPull(DailyRun, db.Model):
    """The nightly run for one corp and local day: at most one row per (corp, run_day), so any
    number of schedulers run it once; a failed pull is retried by later ticks that day."""

    __tablename__ = "group_stats_pull"
    owners: Mapped[int] = mapped_column(default=0)       # owners asked about
    rows: Mapped[int] = mapped_column(default=0)         # owner rows stored
    error: Mapped[str | None] = mapped_column(Text)      # the last failure (errcode and API; no data)
