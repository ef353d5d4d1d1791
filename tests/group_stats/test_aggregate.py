"""The daily group rows and the 7-day retention, computed in SQL from a hand-built history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupDailyStat
from scrm.services import group_stats
from tests.conftest import TEST_CORP_ID
from tests.group_stats.conftest import D1, D2, D3

FIGURES = ("members", "customers", "staff", "joins", "joins_invite", "joins_link", "joins_qrcode",
           "joins_group_code", "leaves", "leaves_self", "leaves_removed")


def rows() -> dict[tuple[date, str], tuple]:
    found = db.session.scalars(select(GroupDailyStat).where(GroupDailyStat.corp_id == TEST_CORP_ID))
    return {(r.day, r.chat_id): (r.owner, *(getattr(r, f) for f in FIGURES)) for r in found}


def test_days_are_local_and_counts_exact(history):
    assert group_stats.rebuild(TEST_CORP_ID, D1, D3) == 7  # G2 none before it existed, G3 none after
    db.session.commit()
    #                           owner       mem cus stf join inv lnk qr  code lv self rm
    assert rows() == {
        (D1, "wrG1"): ("zhangsan", 5, 4, 1, 2, 0, 1, 1, 1, 0, 0, 0),  # wmC1 00:30 local is D1, not UTC's 11-09
        (D1, "wrG3"): ("zhangsan", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (D2, "wrG1"): ("zhangsan", 3, 2, 1, 0, 0, 0, 0, 0, 2, 1, 1),  # wmC2 left at 00:10, wmC3 removed
        (D2, "wrG2"): ("lisi", 2, 1, 1, 2, 1, 1, 0, 0, 0, 0, 0),      # created that day
        (D2, "wrG3"): ("zhangsan", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),  # dismissed during the day
        (D3, "wrG1"): ("zhangsan", 4, 3, 1, 1, 0, 0, 1, 0, 0, 0, 0),  # a state that is not a group code
        (D3, "wrG2"): ("lisi", 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
    }


def test_rebuild_is_idempotent_and_follows_changes(history):
    group_stats.rebuild(TEST_CORP_ID, D1, D3)
    db.session.commit()
    first = rows()
    group_stats.rebuild(TEST_CORP_ID, D2, D2)
    db.session.commit()
    assert rows() == first
    history[7].quit_time = None  # wmC2 came back: D2 has one member more and one leave less
    db.session.commit()
    group_stats.rebuild(TEST_CORP_ID, D2, D2)
    db.session.commit()
    assert rows()[(D2, "wrG1")][1] == 4 and rows()[(D2, "wrG1")][9] == 1
    assert rows()[(D1, "wrG1")] == first[(D1, "wrG1")]


def test_retention_by_week(history):
    weeks = group_stats.retention(TEST_CORP_ID, date(2026, 11, 9), date(2026, 11, 22),
                                  now=datetime(2026, 11, 30))
    assert [(w["week_start"], w["week_end"], w["joined"], w["matured"], w["retained"], w["left_within_7_days"])
            for w in weeks] == [(date(2026, 11, 9), date(2026, 11, 15), 5, 5, 3, 2),
                                (date(2026, 11, 16), date(2026, 11, 22), 0, 0, 0, 0)]
    assert weeks[0]["retention_rate"] == 0.6 and weeks[1]["retention_rate"] is None


def test_retention_waits_for_the_seventh_day_and_filters(history):
    # 2026-11-18 12:00 UTC = 20:00 local: wmC5 (joined 11-12 08:00 local) is not 7 days in yet.
    (week,) = group_stats.retention(TEST_CORP_ID, date(2026, 11, 11), date(2026, 11, 15),
                                    now=datetime(2026, 11, 18, 12))
    assert (week["week_start"], week["joined"], week["matured"], week["retained"]) == (date(2026, 11, 11), 2, 1, 1)
    (g1,) = group_stats.retention(TEST_CORP_ID, date(2026, 11, 9), date(2026, 11, 15), chat_id="wrG1",
                                  now=datetime(2026, 11, 30))
    assert (g1["joined"], g1["retained"]) == (4, 2)
    (lisi,) = group_stats.retention(TEST_CORP_ID, date(2026, 11, 9), date(2026, 11, 15), owner="lisi",
                                    now=datetime(2026, 11, 30))
    assert (lisi["joined"], lisi["retained"]) == (1, 1)
