"""GET /api/v1/group-stats/*: rows, totals, retention, scope, and 422s for bad input."""
from __future__ import annotations

from datetime import date

import pytest

from scrm import clock
from scrm.extensions import db
from scrm.models import GroupOwnerDailyStat
from scrm.services import group_stats
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.group_stats.conftest import D1, D3, local


@pytest.fixture
def get(client):
    token = create_token("bi", TEST_CORP_ID, scope="read")  # read scope is enough

    def _get(path: str, **params):
        return client.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"})
    return _get


@pytest.fixture
def built(history):
    group_stats.rebuild(TEST_CORP_ID, D1, D3)
    db.session.add_all([
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D1, owner="zhangsan", chat_total=2, member_total=6,
                            new_member_cnt=2, msg_total=10, chat_has_msg=1, member_has_msg=2),
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D3, owner="zhangsan", chat_total=1, member_total=4,
                            new_member_cnt=1, msg_total=7, chat_has_msg=1, member_has_msg=1),
        GroupOwnerDailyStat(corp_id=TEST_CORP_ID, day=D3, owner="lisi", chat_total=1, member_total=2,
                            msg_total=3),
        GroupOwnerDailyStat(corp_id="wwothercorp000002", day=D3, owner="zhangsan", chat_total=9, msg_total=99),
    ])
    db.session.commit()


def test_group_rows_and_totals(get, built):
    reply = get("/api/v1/group-stats/groups", **{"from": "2026-11-10", "to": "2026-11-12", "page_size": 3})
    assert reply.status_code == 200
    body = reply.get_json()
    assert (body["from"], body["to"], body["total_rows"], body["page"]) == ("2026-11-10", "2026-11-12", 7, 1)
    assert [(r["day"], r["chat_id"]) for r in body["rows"]] == [
        ("2026-11-10", "wrG1"), ("2026-11-10", "wrG3"), ("2026-11-11", "wrG1")]
    first = body["rows"][0]
    assert (first["members"], first["joins_qrcode"], first["joins_group_code"], first["owner"]) == (5, 1, 1, "zhangsan")
    assert body["totals"] == {"joins": 5, "joins_invite": 1, "joins_link": 2, "joins_qrcode": 2,
                              "joins_group_code": 1, "leaves": 2, "leaves_self": 1, "leaves_removed": 1,
                              "members": 6, "customers": 4, "staff": 2, "last_day": "2026-11-12"}
    one = get("/api/v1/group-stats/groups", **{"from": "2026-11-10", "to": "2026-11-12", "chat_id": "wrG2"}).get_json()
    assert [r["day"] for r in one["rows"]] == ["2026-11-11", "2026-11-12"] and one["totals"]["members"] == 2
    lisi = get("/api/v1/group-stats/groups", **{"from": "2026-11-10", "to": "2026-11-12", "owner": "lisi"}).get_json()
    assert lisi["total_rows"] == 2
    empty = get("/api/v1/group-stats/groups", **{"from": "2025-01-01", "to": "2025-01-31"}).get_json()
    assert empty["rows"] == [] and empty["totals"]["members"] == 0 and empty["totals"]["last_day"] is None


def test_default_range_is_the_30_days_up_to_yesterday(get, built):
    clock.freeze(local("2026-11-13 10:00"))
    body = get("/api/v1/group-stats/groups").get_json()
    assert (body["from"], body["to"], body["total_rows"]) == ("2026-10-14", "2026-11-12", 7)


def test_owner_rows_are_the_corps_only(get, built):
    body = get("/api/v1/group-stats/owners", **{"from": "2026-11-10", "to": "2026-11-12"}).get_json()
    assert [(r["day"], r["owner"], r["msg_total"]) for r in body["rows"]] == [
        ("2026-11-10", "zhangsan", 10), ("2026-11-12", "lisi", 3), ("2026-11-12", "zhangsan", 7)]
    assert body["totals"]["msg_total"] == 20 and body["totals"]["new_member_cnt"] == 3
    assert (body["totals"]["chat_total"], body["totals"]["member_total"]) == (2, 6)  # on 2026-11-12
    mine = get("/api/v1/group-stats/owners", **{"from": "2026-11-10", "to": "2026-11-12", "owner": "lisi"})
    assert [r["owner"] for r in mine.get_json()["rows"]] == ["lisi"]


def test_retention(get, built):
    clock.freeze(local("2026-11-30 10:00"))
    body = get("/api/v1/group-stats/retention", **{"from": "2026-11-09", "to": "2026-11-15"}).get_json()
    assert body["weeks"] == [{"week_start": "2026-11-09", "week_end": "2026-11-15", "joined": 5, "matured": 5,
                              "retained": 3, "left_within_7_days": 2, "retention_rate": 0.6}]
    g1 = get("/api/v1/group-stats/retention", **{"from": "2026-11-09", "to": "2026-11-15", "chat_id": "wrG1"})
    assert g1.get_json()["weeks"][0]["joined"] == 4


@pytest.mark.parametrize("path", ["groups", "owners", "retention"])
@pytest.mark.parametrize("params, field", [
    ({"from": "2026-11-12", "to": "2026-11-10"}, "from"),
    ({"from": "2025-01-01", "to": "2026-11-10"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01"}, "to"),
    ({"from": "2020-01-01"}, "from"),       # up to yesterday: more than 366 days
    ({"from": "2999-01-01"}, "from"),       # after the default `to`
])
def test_bad_ranges_are_422(get, app, path, params, field):
    reply = get(f"/api/v1/group-stats/{path}", **params)
    assert reply.status_code == 422, reply.get_json()
    assert field in reply.get_json()["errors"]["query"]


def test_bad_paging_is_422_and_a_token_is_needed(get, client, app):
    assert get("/api/v1/group-stats/groups", page_size=500).status_code == 422
    assert get("/api/v1/group-stats/owners", page=0).status_code == 422
    assert get("/api/v1/group-stats/groups", chat_id="x" * 65).status_code == 422
    assert client.get("/api/v1/group-stats/groups").status_code == 401


def test_no_date_range_bounds_the_retention_weeks(get, app):
    body = get("/api/v1/group-stats/retention", **{"from": "2025-11-13", "to": "2026-11-13"}).get_json()
    assert len(body["weeks"]) == 53 and body["weeks"][0]["week_start"] == "2025-11-13"
    assert body["weeks"][-1]["week_end"] == "2026-11-13"
    assert date.fromisoformat(body["weeks"][1]["week_start"]).weekday() == 0
