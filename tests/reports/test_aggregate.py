"""The follow-up report's daily aggregate against a hand-computed history (tests/reports/conftest.py):
day boundaries in Asia/Shanghai, stocks carried across days, the rebuild idempotent and equal to
the nightly run, today's refresh from the day's events."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import ReportRun, StaffDailyStat
from scrm.models.reports import STAFF_FLOWS, STAFF_STOCKS
from scrm.services import reports
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D1, D2, D3, OTHER_CORP, local

FIGURES = STAFF_STOCKS + STAFF_FLOWS

# (userid, day) → the figures that are not 0, worked out by hand from the fixture.
EXPECTED = {
    # zhang: wmC1 and wmC4 from before; wmC2 added D1 23:30 and answered 40 minutes later (D2 00:10);
    # the follow-up of D1 23:30 asks for one on D2 10:00; the SOP reminder is due D1 23:30.
    ("zhang", D1): {"customers": 3, "new_customers": 1, "follow_ups": 1, "first_replies": 1,
                    "first_reply_seconds": 2400, "sop_due": 1, "sop_pending": 1},
    # wmC3 added D2 00:30 (answered only days later: no first reply); wmC4 deleted by zhang D2 23:30;
    # the next follow-up falls due at 10:00 and is still overdue at midnight; the reminder is
    # confirmed at 00:30 and the mass send due at 10:00 is still awaited.
    ("zhang", D2): {"customers": 3, "new_customers": 1, "lost_by_staff": 1, "next_due": 1, "next_overdue": 1,
                    "sop_due": 1, "sop_confirmed": 1, "sop_pending": 1},
    # the D3 00:30 follow-up meets the overdue one and asks for another at 08:00, never met; the
    # customer wmC3 deleted zhang at 09:00.
    ("zhang", D3): {"customers": 2, "lost_by_customer": 1, "follow_ups": 1, "next_due": 1, "next_overdue": 1,
                    "sop_pending": 1},
    ("li", D1): {},
    ("li", D2): {"customers": 1, "new_customers": 1},
    ("li", D3): {"customers": 1, "recall_due": 1, "recall_pending": 1},
    # wang: wmC7 added D0 23:59 (before the range); wmC6 added D1 00:30, handed over D3 10:00
    ("wang", D1): {"customers": 2, "new_customers": 1, "follow_ups": 1},
    ("wang", D2): {"customers": 2},
    ("wang", D3): {"customers": 1, "transferred_out": 1},
}


def rows(first=D1, last=D3) -> dict:
    found = db.session.scalars(select(StaffDailyStat).where(
        StaffDailyStat.corp_id == TEST_CORP_ID, StaffDailyStat.day.between(first, last)))
    return {(r.userid, r.day): {name: getattr(r, name) for name in FIGURES} | {"department_id": r.department_id}
            for r in found}


def nonzero(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if v and k != "department_id"}


def test_the_figures_match_the_hand_computed_history(history):
    written = reports.rebuild(TEST_CORP_ID, D1, D3)
    found = rows()
    assert written["staff_day"] == 18  # six members, three days: a row each, zeros included
    for key, figures in EXPECTED.items():
        assert nonzero(found[key]) == figures, key
    for userid in ("boss", "mgr_a", "mgr_b"):
        assert all(not nonzero(found[(userid, day)]) for day in (D1, D2, D3))
    assert found[("li", D2)]["department_id"] == 3
    assert db.session.scalar(select(StaffDailyStat.id).where(StaffDailyStat.corp_id == OTHER_CORP)) is None


def test_a_rebuild_is_idempotent_and_a_shorter_one_agrees(history):
    reports.rebuild(TEST_CORP_ID, D1, D3)
    first = rows()
    reports.rebuild(TEST_CORP_ID, D1, D3)
    assert rows() == first
    reports.rebuild(TEST_CORP_ID, D3, D3)  # its stocks counted from the sources alone
    assert rows() == first


def test_the_nightly_run_writes_what_a_rebuild_does_once_a_day(history):
    assert reports.run_nightly(local("2026-11-13 04:59")) == 0  # before SCRM_REPORTS_AT
    assert reports.run_nightly(local("2026-11-13 05:01")) == 1
    assert reports.run_nightly(local("2026-11-13 06:00")) == 0  # once per local day
    run = db.session.scalar(select(ReportRun).filter_by(corp_id=TEST_CORP_ID))
    assert (run.status, run.rows) == ("done", 18)
    nightly = rows()
    for key, figures in EXPECTED.items():
        assert nonzero(nightly[key]) == figures, key
    reports.rebuild(TEST_CORP_ID, D1, D3)
    assert rows() == nightly


def test_today_is_refreshed_from_the_last_days_rows(history):
    reports.rebuild(TEST_CORP_ID, D1, D2)
    # at D3 15:00 the refresh builds D3 from D2's stocks and D3's events: the same as a rebuild
    written = reports.refresh_corp(TEST_CORP_ID, D3)
    assert written["staff_day"] == 6
    refreshed = rows(D3, D3)
    reports.rebuild(TEST_CORP_ID, D3, D3)
    assert rows(D3, D3) == refreshed
    for (userid, day), figures in EXPECTED.items():
        if day == D3:
            assert nonzero(refreshed[(userid, day)]) == figures, userid


def test_the_rebuild_command(runner, history):
    result = runner.invoke(args=["scrm", "reports", "rebuild", "--from", "2026-11-10", "--to", "2026-11-12"])
    assert result.exit_code == 0, result.output
    assert '"rows": {"staff_day": 18' in result.output  # other reports' aggregates follow
    for key, figures in EXPECTED.items():
        assert nonzero(rows()[key]) == figures, key
    backwards = runner.invoke(args=["scrm", "reports", "rebuild", "--from", "2026-11-12", "--to", "2026-11-10"])
    assert backwards.exit_code == 2 and "before" in backwards.output
    future = runner.invoke(args=["scrm", "reports", "rebuild", "--from", "2026-11-12", "--to", "2099-01-01"])
    assert future.exit_code == 2 and "after today" in future.output


def test_the_today_sweep_builds_today_on_yesterdays_rows(history):
    reports.rebuild(TEST_CORP_ID, D1, D2)
    assert reports.refresh_today(local("2026-11-12 15:00")) == 1
    refreshed = rows(D3, D3)
    for (userid, day), figures in EXPECTED.items():
        if day == D3:
            assert nonzero(refreshed[(userid, day)]) == figures, userid
