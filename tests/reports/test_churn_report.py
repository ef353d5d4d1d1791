"""The churn and recall report (流失与召回报表): churn_daily_stat / recall_daily_stat against a
hand-computed history across Shanghai day boundaries, the Open API's figures, data scopes,
422s and the exports.

Local days D1 2026-11-10, D2 11-11, D3 11-12 (a local day starts at 16:00 UTC the day before).

    relation            member  channel  end                                risk (previous → level at)
    wmC1                zhang   ch_a     active                             active → cooling D1 23:30
    wmC2                zhang   ch_a     by customer D1 23:30               cooling → lost D2 00:30
    wmC3                zhang   ch_b     by staff D2 00:30                  (first level) dormant D2 01:00
    wmC4                li      —        sync found gone D3 09:00           (first level) active 11-01
    wmC5                wang    ch_b     by customer D2 12:00               cooling → dormant D3 23:59
    wmC6                wang    ch_a     transferred D2 (not a loss)        —
    wmC7                zhang   ch_a     by customer D0 23:59 (before)      —
    wmC8                wang    ch_b     by staff 10-31 23:30 (October)     —
    wmC9                li      —        by staff 11-01 00:10 (November local, October in UTC)

Recalls (by sent_at): P1 沉睡召回 — zhang D1 23:30 reminder sent from the sidebar D2 00:10, won;
wang D2 00:30 mass send awaiting, window passed (lost); li failed (never went out); zhang
D4 00:10 (after the range, D3 in UTC). P2 流失挽回 — zhang D3 10:00 mass send reported sent, open.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import (
    AuditLog,
    Channel,
    ChurnDailyStat,
    FollowRelation,
    Recall,
    RecallDailyStat,
    RecallPlaybook,
    RelationRisk,
    RiskDailyStat,
)
from scrm.models.churn_report import CHURN_FLOWS, RISK_STOCKS
from scrm.services import reports
from tests.conftest import TEST_CORP_ID
from tests.reports.conftest import D1, D2, D3, OTHER_CORP, _seed_org, local, sign_in

RANGE = {"from": "2026-11-10", "to": "2026-11-12"}
REPORT = "/api/v1/reports/churn"
EXPORT = "/api/v1/reports/churn/export"

RELATIONS = [  # (member, customer, channel, status, ended)
    ("zhang", "wmC1", "ch_a", "active", None),
    ("zhang", "wmC2", "ch_a", "deleted_by_customer", "2026-11-10 23:30"),
    ("zhang", "wmC3", "ch_b", "deleted_by_staff", "2026-11-11 00:30"),
    ("li", "wmC4", None, "deleted_unknown", "2026-11-12 09:00"),
    ("wang", "wmC5", "ch_b", "deleted_by_customer", "2026-11-11 12:00"),
    ("wang", "wmC6", "ch_a", "transferred", "2026-11-11 15:00"),
    ("zhang", "wmC7", "ch_a", "deleted_by_customer", "2026-11-09 23:59"),
    ("wang", "wmC8", "ch_b", "deleted_by_staff", "2026-10-31 23:30"),
    ("li", "wmC9", None, "deleted_by_staff", "2026-11-01 00:10"),
]
RISKS = [  # (customer, previous level, level, changed)
    ("wmC1", "active", "cooling", "2026-11-10 23:30"),
    ("wmC2", "cooling", "lost", "2026-11-11 00:30"),
    ("wmC3", None, "dormant", "2026-11-11 01:00"),
    ("wmC4", None, "active", "2026-11-01 10:00"),
    ("wmC5", "cooling", "dormant", "2026-11-12 23:59"),
]


def seed_churn():
    _seed_org()
    ids = {}
    for userid, customer, state, status, ended in RELATIONS:
        relation = FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=customer, state=state,
                                  added_at=local("2026-10-01 10:00"), created_at=local("2026-10-01 10:00"),
                                  status=status, status_changed_at=local(ended) if ended else None)
        db.session.add(relation)
        db.session.flush()
        ids[customer] = (relation.id, userid)
    for customer, previous, level, changed in RISKS:
        relation_id, userid = ids[customer]
        db.session.add(RelationRisk(corp_id=TEST_CORP_ID, relation_id=relation_id, userid=userid,
                                    external_userid=customer, level=level, previous_level=previous,
                                    level_changed_at=local(changed), scored_at=local(changed)))
    db.session.add(Channel(corp_id=TEST_CORP_ID, name="地推A", type=1, scene=2, state="ch_a", userids=[], tag_ids=[]))
    p1 = RecallPlaybook(corp_id=TEST_CORP_ID, name="沉睡召回", trigger="dormant", segment={}, action="reminder",
                        text="好久不见", attachments=[])
    p2 = RecallPlaybook(corp_id=TEST_CORP_ID, name="流失挽回", trigger="deleted_by_customer", segment={},
                        action="mass_send", text="回来看看", attachments=[])
    db.session.add_all([p1, p2])
    db.session.flush()

    def recall(playbook, userid, customer, action, status, sent=None, **extra):
        db.session.add(Recall(corp_id=TEST_CORP_ID, playbook_id=playbook.id, relation_id=ids[customer][0],
                              userid=userid, external_userid=customer, trigger=playbook.trigger, action=action,
                              entered_at=local("2026-11-01 04:00"), due_at=local(sent or "2026-11-11 10:00"),
                              status=status, sent_at=local(sent) if sent else None, **extra))

    recall(p1, "zhang", "wmC1", "reminder", "sent", "2026-11-10 23:30",
           sent_from_sidebar_at=local("2026-11-11 00:10"), outcome="won", outcome_by="reply")
    recall(p1, "wang", "wmC5", "mass_send", "awaiting", "2026-11-11 00:30", outcome="lost")
    recall(p1, "li", "wmC4", "reminder", "failed")
    recall(p1, "zhang", "wmC2", "reminder", "sent", "2026-11-13 00:10")
    recall(p2, "zhang", "wmC3", "mass_send", "sent", "2026-11-12 10:00")
    # another corp's rows never count
    db.session.add(FollowRelation(corp_id=OTHER_CORP, userid="zhang", external_userid="wmX", state="ch_a",
                                  added_at=local("2026-10-01 10:00"), status="deleted_by_customer",
                                  status_changed_at=local("2026-11-10 12:00")))
    db.session.commit()


@pytest.fixture
def churn_history(reports_app):
    seed_churn()


@pytest.fixture
def churn_built(churn_history):
    reports.rebuild(TEST_CORP_ID, date(2026, 10, 31), D3)


# (member, channel, day) → the flows not zero, worked out by hand (see the docstring)
EXPECTED = {
    ("zhang", "ch_a", D1): {"lost_by_customer": 1, "entered_cooling": 1},
    ("zhang", "ch_a", D2): {"entered_lost": 1},
    ("zhang", "ch_b", D2): {"lost_by_staff": 1},
    ("li", "", D3): {"lost_other": 1},
    ("wang", "ch_b", D2): {"lost_by_customer": 1},
    ("wang", "ch_b", D3): {"entered_dormant": 1},
}
# (member, day) → relations per risk level at the end of the day (not zero)
EXPECTED_RISK = {
    ("zhang", D1): {"risk_cooling": 2},  # wmC1 cooling from D1 23:30, wmC2 cooling until D2 00:30
    ("zhang", D2): {"risk_cooling": 1, "risk_lost": 1, "risk_dormant": 1},  # wmC3's first level
    ("zhang", D3): {"risk_cooling": 1, "risk_lost": 1, "risk_dormant": 1},
    ("li", D1): {"risk_active": 1}, ("li", D2): {"risk_active": 1}, ("li", D3): {"risk_active": 1},
    ("wang", D1): {"risk_cooling": 1}, ("wang", D2): {"risk_cooling": 1},
    ("wang", D3): {"risk_dormant": 1},  # cooling → dormant at D3 23:59
}


def churn_rows(first=D1, last=D3) -> dict:
    s = ChurnDailyStat
    found = db.session.scalars(select(s).where(s.corp_id == TEST_CORP_ID, s.day.between(first, last)))
    return {(r.userid, r.state, r.day): {n: getattr(r, n) for n in CHURN_FLOWS if getattr(r, n)} for r in found}


def risk_rows(first=D1, last=D3) -> dict:
    s = RiskDailyStat
    found = db.session.scalars(select(s).where(s.corp_id == TEST_CORP_ID, s.day.between(first, last)))
    return {(r.userid, r.day): {n: getattr(r, n) for n in RISK_STOCKS if getattr(r, n)} for r in found}


def test_the_aggregate_matches_the_hand_computed_history(churn_built):
    assert churn_rows() == EXPECTED  # only groups with a flow have a row
    assert risk_rows() == EXPECTED_RISK
    # October 31 local and November 1 00:10 local (October 31 in UTC)
    october = churn_rows(date(2026, 10, 31), date(2026, 11, 1))
    assert october == {("wang", "ch_b", date(2026, 10, 31)): {"lost_by_staff": 1},
                       ("li", "", date(2026, 11, 1)): {"lost_by_staff": 1}}
    assert db.session.scalar(select(ChurnDailyStat.id).where(ChurnDailyStat.corp_id == OTHER_CORP)) is None
    r = RecallDailyStat
    recalls = {(row.playbook_id, row.userid, row.day): (row.sent, row.confirmed, row.re_engaged, row.expired)
               for row in db.session.scalars(select(r).where(r.corp_id == TEST_CORP_ID))}
    assert sorted(recalls.values()) == [(1, 0, 0, 1), (1, 1, 0, 0), (1, 1, 1, 0)]
    assert {(user, day) for _, user, day in recalls} == {("zhang", D1), ("wang", D2), ("zhang", D3)}


def test_a_rebuild_is_idempotent_and_refreshes_agree(churn_built):
    before = churn_rows(), risk_rows()
    reports.rebuild(TEST_CORP_ID, D3, D3)  # stocks counted from the sources alone
    assert (churn_rows(), risk_rows()) == before
    reports.rebuild(TEST_CORP_ID, D1, D2)
    reports.refresh_corp(TEST_CORP_ID, D3)  # D3 from D2's rows and D3's events
    assert (churn_rows(), risk_rows()) == before


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_the_report_per_member_channel_month_and_playbook(get, churn_built):
    reply = get(REPORT, **RANGE)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["last_day"] == "2026-11-12"
    staff = by(body["staff"], "userid")
    assert set(staff) == {"zhang", "li", "wang"}
    zhang = staff["zhang"]
    assert (zhang["lost_by_customer"], zhang["lost_by_staff"], zhang["lost"]) == (1, 1, 2)
    assert (zhang["entered_cooling"], zhang["entered_lost"], zhang["entered_dormant"]) == (1, 1, 0)
    assert (zhang["risk_active"], zhang["risk_cooling"], zhang["risk_dormant"], zhang["risk_lost"],
            zhang["at_risk"]) == (0, 1, 1, 1, 3)
    assert (zhang["name"], zhang["department_id"], zhang["department_name"]) == ("名zhang", 2, "A")
    assert (staff["li"]["lost_other"], staff["li"]["risk_active"]) == (1, 1)
    assert (staff["wang"]["lost"], staff["wang"]["entered_dormant"], staff["wang"]["risk_dormant"]) == (1, 1, 1)
    channels = by(body["channels"], "state")
    ch_a = channels["ch_a"]
    assert (ch_a["channel_name"], ch_a["lost"], ch_a["entered_lost"], ch_a["entered_cooling"]) == ("地推A", 1, 1, 1)
    assert (channels["ch_b"]["lost_by_staff"], channels["ch_b"]["lost_by_customer"],
            channels["ch_b"]["entered_dormant"]) == (1, 1, 1)
    assert (channels[""]["channel_name"], channels[""]["lost_other"]) == (None, 1)
    totals = body["totals"]
    assert (totals["members"], totals["lost"], totals["lost_by_customer"], totals["lost_by_staff"],
            totals["lost_other"]) == (3, 4, 2, 1, 1)
    assert [totals[f"risk_{level}"] for level in ("active", "cooling", "dormant", "lost")] == [1, 1, 2, 1]
    assert body["months"] == [{"month": "2026-11", **{n: totals[n] for n in CHURN_FLOWS}, "lost": 4}]
    playbooks = by(body["playbooks"], "name")
    assert {k: playbooks["沉睡召回"][k] for k in ("sent", "confirmed", "re_engaged", "expired", "rate")} == {
        "sent": 2, "confirmed": 1, "re_engaged": 1, "expired": 1, "rate": 0.5}
    back = playbooks["流失挽回"]
    assert (back["sent"], back["confirmed"], back["rate"]) == (1, 1, 0.0)
    assert body["recall_totals"] == {"sent": 3, "confirmed": 2, "re_engaged": 1, "expired": 1, "rate": 0.3333}


def test_months_split_at_the_local_month_boundary(get, churn_built):
    body = get(REPORT, **{"from": "2026-10-31", "to": "2026-11-12"}).get_json()
    months = by(body["months"], "month")
    assert list(months) == ["2026-10", "2026-11"]
    assert (months["2026-10"]["lost_by_staff"], months["2026-10"]["lost"]) == (1, 1)
    assert (months["2026-11"]["lost_by_staff"], months["2026-11"]["lost_by_customer"], months["2026-11"]["lost"]) == (
        2, 3, 6)  # wmC7 (D0 23:59) is November too


def test_filters_and_data_scopes(client, get, churn_built):
    subtree = get(REPORT, department_id=2, **RANGE).get_json()  # A and A1 below it
    assert set(by(subtree["staff"], "userid")) == {"zhang", "li"}
    assert subtree["recall_totals"]["sent"] == 2
    one = get(REPORT, userid="wang", **RANGE).get_json()
    assert set(by(one["staff"], "userid")) == {"wang"} and one["recall_totals"]["expired"] == 1
    sign_in(client, "mgr_a")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by(body["staff"], "userid")) == {"zhang", "li"} and body["totals"]["lost"] == 3
    assert by(body["playbooks"], "name")["沉睡召回"]["sent"] == 1
    other = client.get("/console" + REPORT, query_string={**RANGE, "department_id": 4}).get_json()
    assert other["staff"] == [] and other["playbooks"] == [] and other["totals"]["lost"] == 0
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "wang"}).status_code == 404
    sign_in(client, "zhang")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by(body["staff"], "userid")) == {"zhang"} and set(by(body["channels"], "state")) == {"ch_a", "ch_b"}
    assert client.get("/console" + REPORT, query_string={**RANGE, "userid": "li"}).status_code == 404
    sign_in(client, "boss")
    body = client.get("/console" + REPORT, query_string=RANGE).get_json()
    assert set(by(body["staff"], "userid")) == {"zhang", "li", "wang"}


def test_bad_filters_are_422(get, churn_built):
    backwards = get(REPORT, **{"from": "2026-11-12", "to": "2026-11-10"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["errors"]["query"]
    too_long = get(REPORT, **{"from": "2025-01-01", "to": "2026-11-12"})
    assert too_long.status_code == 422 and "to" in too_long.get_json()["errors"]["query"]
    assert get(REPORT, department_id=0).status_code == 422
    assert get(REPORT, **{"from": "2026-13-01"}).status_code == 422
    assert get(EXPORT, format="pdf", **RANGE).status_code == 422
    bad_rows = get(EXPORT, rows="everything", **RANGE)
    assert bad_rows.status_code == 422 and "rows" in bad_rows.get_json()["errors"]["query"]


def sheet(reply) -> list[list]:
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(reply.get_data()))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_exports_per_member_channel_month_and_playbook(client, get, churn_built):
    rows = sheet(get(EXPORT, **RANGE))
    header = rows[0]
    assert header[:5] == ["成员", "成员账号", "部门", "流失合计", "删除客户"]
    members = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:-1]}
    assert (members["zhang"]["流失合计"], members["zhang"]["进入流失"], members["zhang"]["风险客户合计"]) == (2, 1, 3)
    assert rows[-1][0] == "合计" and dict(zip(header, rows[-1], strict=True))["流失合计"] == 4
    channels = sheet(get(EXPORT, rows="channels", **RANGE))
    assert [row[0] for row in channels[1:]] == ["（无渠道）", "地推A", "ch_b", "合计"]
    playbooks = sheet(get(EXPORT, rows="playbooks", **RANGE))
    assert playbooks[0] == ["召回策略", "召回发送", "已确认发送", "召回成功", "未召回", "召回率"]
    assert playbooks[1:] == [["沉睡召回", 2, 1, 1, 1, 0.5], ["流失挽回", 1, 1, 0, 0, 0],
                             ["合计", 3, 2, 1, 1, 0.3333]]
    reply = get(EXPORT, rows="months", format="csv", **{"from": "2026-10-31", "to": "2026-11-12"})
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    lines = reply.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("月份,流失合计,删除客户")
    assert [line.split(",")[:3] for line in lines[1:]] == [["2026-10", "1", "1"], ["2026-11", "6", "2"],
                                                          ["合计", "7", "3"]]
    assert db.session.query(AuditLog).filter_by(action="api_export_report", target_id="churn/months").count() == 1
    sign_in(client, "mgr_b")
    scoped = sheet(client.get("/console" + EXPORT, query_string=RANGE))
    assert {row[1] for row in scoped[1:-1]} == {"wang"}


def test_the_console_page_and_its_link(client, churn_built):
    sign_in(client, "zhang")
    page = client.get("/console/reports/churn")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="tpl-reports-churn"' in html and "reports_churn.js" in html and "report_common.js" in html
    assert 'href="/console/reports/churn"' in html and "流失与召回" in html
    assert "被客户删除" in html  # the export's column names reach the page's script
    assert 'href="/console/reports/churn"' in client.get("/console/reports").get_data(as_text=True)


def test_whole_months_from_the_roll_up_add_up_as_the_days(reports_app):
    """A range with whole months reads them from churn_month_stat: the same figures as the daily
    rows summed, per member, per channel and in total."""
    from datetime import timedelta

    from sqlalchemy import func

    from scrm.models import ChurnDailyStat, ChurnMonthStat
    from scrm.services.reports import churn
    from tests.reports.conftest import _relation

    _seed_org()
    for i, day in enumerate(date(2026, 9, 1) + timedelta(days=k) for k in range(0, 80, 2)):
        userid = ("zhang", "li", "wang")[i % 3]
        _relation(userid, f"wmQ{i}", f"{day - timedelta(days=20)} 10:00", status="deleted_by_customer",
                  ended=f"{day} {'00:10' if i % 2 else '23:50'}")
    db.session.commit()
    reports.rebuild(TEST_CORP_ID, date(2026, 9, 1), date(2026, 11, 30))
    assert db.session.scalar(select(func.count()).select_from(ChurnMonthStat)) > 0
    first, last = date(2026, 9, 10), date(2026, 11, 30)  # October and November whole
    report = churn.report(TEST_CORP_ID, first, last)
    daily = db.session.execute(select(*(func.coalesce(func.sum(getattr(ChurnDailyStat, n)), 0) for n in CHURN_FLOWS))
                               .where(ChurnDailyStat.day.between(first, last))).one()
    assert {n: report["totals"][n] for n in CHURN_FLOWS} == dict(zip(CHURN_FLOWS, daily, strict=True))
    assert report["totals"]["lost_by_customer"] > 10
    assert sum(row["lost_by_customer"] for row in report["channels"]) == report["totals"]["lost_by_customer"]
    assert sum(m.get("lost_by_customer", 0) for m in report["months"]) == report["totals"]["lost_by_customer"]
