"""The monthly roll-up (staff_monthly_stat): a report over whole months reads them there and only
its edge days from the daily rows, and adds up exactly what the daily rows would — per member,
per department (a member who moved department mid-month included) and in total."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import Staff, StaffDailyStat, StaffMonthlyStat
from scrm.models.reports import STAFF_FLOWS, STAFF_STOCKS
from scrm.services import reports
from scrm.services.policy import departments
from scrm.services.reports import follow_up, staff_month
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import _follow_up, _relation, _seed_org

NOW = datetime(2026, 12, 2, 4, 0)  # 2026-12-02 12:00 in Shanghai


def _seed_months():
    """Relations and follow-ups spread over Sep–Dec 2026, at local midnights' edges too."""
    _seed_org()
    n = 0
    for day in (date(2026, 9, 1) + timedelta(days=i) for i in range(0, 92, 3)):
        for userid, hour in (("zhang", "00:10"), ("li", "23:50"), ("wang", "12:00")):
            n += 1
            ended = {} if n % 4 else {"status": "deleted_by_customer", "ended": f"{day + timedelta(days=5)} 09:00"}
            _relation(userid, f"wmM{n}", f"{day} {hour}", **ended)
            _follow_up(userid, f"wmM{n}", f"{day} {hour}", next_at=f"{day + timedelta(days=2)} 10:00")
    db.session.commit()


def _daily_sums(first: date, last: date, department_id: int | None = None) -> dict:
    s = StaffDailyStat
    query = select(*(func.coalesce(func.sum(getattr(s, name)), 0) for name in STAFF_FLOWS)).where(
        s.corp_id == TEST_CORP_ID, s.day.between(first, last))
    if department_id is not None:
        query = query.where(s.department_id.in_(departments.and_below(TEST_CORP_ID, [department_id])))
    return dict(zip(STAFF_FLOWS, db.session.execute(query).one(), strict=True))


def test_month_arithmetic():
    assert staff_month.months(date(2026, 1, 31), date(2026, 3, 1)) == [date(2026, 1, 1), date(2026, 2, 1),
                                                                       date(2026, 3, 1)]
    assert staff_month.month_end(date(2028, 2, 10)) == date(2028, 2, 29)
    assert staff_month.whole_months(date(2026, 1, 15), date(2026, 12, 31)) == (date(2026, 2, 1), date(2026, 12, 1))
    assert staff_month.whole_months(date(2026, 1, 1), date(2026, 1, 31)) == (date(2026, 1, 1), date(2026, 1, 1))
    assert staff_month.whole_months(date(2026, 1, 2), date(2026, 2, 27)) is None


def test_whole_months_read_from_the_roll_up_add_up_as_the_days(reports_app):
    _seed_months()
    reports.rebuild(TEST_CORP_ID, date(2026, 9, 1), date(2026, 10, 15), now=NOW)
    # zhang moves from A to B in mid-October: October has a row per department for him
    db.session.execute(db.update(Staff).where(Staff.corp_id == TEST_CORP_ID, Staff.userid == "zhang")
                       .values(main_department=4))
    reports.rebuild(TEST_CORP_ID, date(2026, 10, 16), date(2026, 12, 2), now=NOW)
    october = db.session.execute(select(StaffMonthlyStat.department_id, StaffMonthlyStat.days).where(
        StaffMonthlyStat.userid == "zhang", StaffMonthlyStat.month == date(2026, 10, 1))
        .order_by(StaffMonthlyStat.department_id)).all()
    assert [tuple(row) for row in october] == [(2, 15), (4, 16)]

    for first, last, department_id in ((date(2026, 9, 14), date(2026, 12, 2), None),  # Oct, Nov whole
                                       (date(2026, 9, 1), date(2026, 11, 30), 2),     # Sep–Nov, zhang's move
                                       (date(2026, 9, 1), date(2026, 11, 30), 4),
                                       (date(2026, 10, 2), date(2026, 10, 30), None)):  # no whole month
        report = follow_up.report(TEST_CORP_ID, first, last, department_id=department_id)
        expected = _daily_sums(first, last, department_id)
        assert {name: report["totals"][name] for name in STAFF_FLOWS} == expected, (first, last, department_id)
        assert expected["new_customers"] > 0 and expected["follow_ups"] > 0
    # stocks still come from the last day's rows, per member, with the department of that day
    report = follow_up.report(TEST_CORP_ID, date(2026, 9, 1), date(2026, 11, 30))
    last_rows = {r.userid: r for r in db.session.scalars(select(StaffDailyStat).where(
        StaffDailyStat.corp_id == TEST_CORP_ID, StaffDailyStat.day == date(2026, 11, 30)))}
    for row in report["staff"]:
        assert row["department_id"] == last_rows[row["userid"]].department_id
        assert {n: row[n] for n in STAFF_STOCKS} == {n: getattr(last_rows[row["userid"]], n) for n in STAFF_STOCKS}
    assert report["totals"]["customers"] > 0


def test_the_month_in_progress_follows_todays_refresh(reports_app):
    _seed_months()
    reports.rebuild(TEST_CORP_ID, date(2026, 11, 1), date(2026, 12, 1), now=NOW)
    _relation("li", "wmLate", "2026-12-02 08:00")
    db.session.commit()
    reports.refresh_corp(TEST_CORP_ID, date(2026, 12, 2))
    december = db.session.execute(select(func.sum(StaffMonthlyStat.new_customers), func.max(StaffMonthlyStat.days))
                                  .where(StaffMonthlyStat.month == date(2026, 12, 1))).one()
    assert tuple(december) == (_daily_sums(date(2026, 12, 1), date(2026, 12, 2))["new_customers"], 2)
    assert december[0] >= 1
