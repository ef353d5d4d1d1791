"""The customer list (GET /api/v1/customer-search, through the console's mount): every filter,
tags and/or, the 422s, the capped count and paging; the customer page's profile and timeline."""
from __future__ import annotations

import pytest

from scrm.extensions import db
from scrm.models import AuditLog
from tests.console.customer_data import seed

URL = "/console/api/v1/customer-search"


@pytest.fixture
def data(admin_client):
    return seed()


def rows(client, **params):
    resp = client.get(URL, query_string=params)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    return sorted((r["userid"], r["external_userid"]) for r in body["items"]), body


def test_without_filters_every_active_relation_newest_first(admin_client, data):
    resp = admin_client.get(URL)
    body = resp.get_json()
    assert [(r["userid"], r["external_userid"]) for r in body["items"]] == [
        ("carol", "wmc4"), ("bob", "wmc2"), ("alice", "wmc2"), ("alice", "wmc1")]
    assert body["total"] == 4 and body["total_capped"] is False
    first = body["items"][-1]
    assert first["name"] == "王小明" and first["staff_name"] == "爱丽丝" and first["channel_name"] == "门店海报"
    assert first["stage_name"] == "初步接触" and first["risk_level"] == "active"
    assert sorted(t["name"] for t in first["tags"]) == ["VIP", "高意向"]
    assert first["added_at"] == "2026-01-10T00:00:00Z"
    # bob's personal tag is not a corp tag: not listed
    assert [t["tag_id"] for t in body["items"][1]["tags"]] == ["hot"]


def test_tags_any_and_all(admin_client, data):
    assert rows(admin_client, tag_id=["vip", "hot"])[0] == [
        ("alice", "wmc1"), ("alice", "wmc2"), ("bob", "wmc2"), ("carol", "wmc4")]
    assert rows(admin_client, tag_id=["vip", "hot"], tag_mode="all")[0] == [("alice", "wmc1"), ("carol", "wmc4")]
    assert rows(admin_client, tag_id=["hot"])[0] == [("alice", "wmc1"), ("bob", "wmc2"), ("carol", "wmc4")]


def test_stage_channel_state_owner_and_department(admin_client, data):
    assert rows(admin_client, stage_id=data["stages"][1])[0] == [("carol", "wmc4")]
    assert rows(admin_client, channel_id=data["channels"][0])[0] == [("alice", "wmc1")]
    assert rows(admin_client, state="web")[0] == [("bob", "wmc2")]
    assert rows(admin_client, owner=["alice", "carol"])[0] == [("alice", "wmc1"), ("alice", "wmc2"), ("carol", "wmc4")]
    # 销售部 (2) holds bob and, below it, 华东组 (3) holds alice
    assert rows(admin_client, department_id=2)[0] == [("alice", "wmc1"), ("alice", "wmc2"), ("bob", "wmc2")]
    assert rows(admin_client, department_id=4)[0] == [("carol", "wmc4")]
    assert rows(admin_client, department_id=2, owner="carol")[0] == []


def test_risk_dates_status_and_interaction(admin_client, data):
    assert rows(admin_client, risk_level=["dormant", "lost"])[0] == [("alice", "wmc2"), ("carol", "wmc4")]
    assert rows(admin_client, added_from="2026-02-01T00:00:00Z", added_to="2026-03-31T00:00:00Z")[0] == [
        ("alice", "wmc2"), ("bob", "wmc2")]
    assert rows(admin_client, interaction_from="2026-04-01T00:00:00Z")[0] == [("alice", "wmc1")]
    assert rows(admin_client, status="deleted_by_customer")[0] == [("bob", "wmc3")]
    combined = rows(admin_client, tag_id="vip", owner="alice", risk_level="dormant")
    assert combined[0] == [("alice", "wmc2")] and combined[1]["total"] == 1


def test_search_by_name_or_remark_prefix_and_whole_mobile_only(admin_client, data):
    assert rows(admin_client, q="王")[0] == [("alice", "wmc1")]
    assert rows(admin_client, q="李")[0] == [("alice", "wmc2"), ("bob", "wmc2")]  # name 李雷, remark 李总
    assert rows(admin_client, q="老客")[0] == [("alice", "wmc1")]
    assert rows(admin_client, q="小明")[0] == []  # a prefix, not a substring
    assert rows(admin_client, q="13800001111")[0] == [("carol", "wmc4")]
    assert rows(admin_client, q="1380000")[0] == []  # no prefix search on phone numbers
    assert rows(admin_client, q="%")[0] == []  # a literal percent sign, not a wildcard


def test_sort_and_paging(admin_client, data):
    body = rows(admin_client, sort="added_at", page=2, page_size=3)[1]
    assert [r["external_userid"] for r in body["items"]] == ["wmc4"] and body["total"] == 4
    by_interaction = admin_client.get(URL, query_string={"sort": "-last_interaction_at"}).get_json()["items"]
    assert [(r["userid"], r["external_userid"]) for r in by_interaction][:2] == [("alice", "wmc1"), ("alice", "wmc2")]


@pytest.mark.parametrize("params, field", [
    ({"tag_mode": "both"}, "tag_mode"),
    ({"risk_level": "angry"}, "risk_level"),
    ({"stage_id": "x"}, "stage_id"),
    ({"added_from": "2026-03-01T00:00:00Z", "added_to": "2026-02-01T00:00:00Z"}, "added_from"),
    ({"interaction_from": "yesterday"}, "interaction_from"),
    ({"sort": "name"}, "sort"),
    ({"page_size": 500}, "page_size"),
    ({"page": 200, "page_size": 100}, "page"),
    ({"q": "x" * 65}, "q"),
    ({"status": "gone"}, "status"),
])
def test_bad_filters_answer_422_naming_the_field(admin_client, data, params, field):
    resp = admin_client.get(URL, query_string=params)
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]["query"]


def test_paging_on_without_counting_again(admin_client, data):
    body = rows(admin_client, page=2, page_size=3, with_total="false")[1]
    assert len(body["items"]) == 1 and body["total"] is None and body["total_capped"] is None


def test_the_count_is_capped(admin_client, data, monkeypatch):
    from scrm.services.customer_search import listing

    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    body = rows(admin_client)[1]
    assert body["total"] == 2 and body["total_capped"] is True and body["count_cap"] == 2
    assert len(body["items"]) == 4  # the page itself is not capped


def test_listing_is_recorded_in_the_audit_log_and_needs_a_session(client, admin_client, data):
    rows(admin_client, owner="carol")
    assert db.session.query(AuditLog).filter_by(action="api_list_customers", target_id="wmc4").count() == 1
    admin_client.post("/console/logout", data={"csrf_token": _token(admin_client)})
    assert client.get(URL).status_code == 401


def test_the_open_api_serves_the_same_list_with_a_token(client, data):
    from tests.api.factories import gen_token

    token = gen_token()
    resp = client.get("/api/v1/customer-search", query_string={"tag_id": "vip", "tag_mode": "all"},
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["total"] == 3
    assert client.get("/api/v1/customer-search").status_code == 401


def test_a_data_scope_limits_the_relations(admin_client, data, monkeypatch):
    from scrm.api import customer_search

    monkeypatch.setattr(customer_search, "visible_userids", lambda: {"bob"})
    assert rows(admin_client)[0] == [("bob", "wmc2")]
    assert rows(admin_client, owner="alice")[0] == []
    assert admin_client.get("/console/api/v1/customers/wmc1/profile").status_code == 404
    assert admin_client.get("/console/api/v1/customers/wmc2/profile").status_code == 200


def test_the_customer_page_profile_and_timeline(client, admin_client, data):
    from tests.api.factories import gen_token

    resp = admin_client.get("/console/api/v1/customers/wmc4/profile")
    assert resp.status_code == 200
    view = resp.get_json()
    assert view["customer"]["name"] == "<b>Zoe</b>"
    relation = view["relations"][0]
    # the administrator may read mobiles; a bearer token reads them masked
    assert relation["staff_name"] == "卡罗尔" and relation["remark_mobiles"] == ["13800001111"]
    by_token = client.get("/api/v1/customers/wmc4/profile", headers={"Authorization": f"Bearer {gen_token()}"})
    assert by_token.get_json()["relations"][0]["remark_mobiles"] == ["138****1111"]
    assert [t["tag_id"] for t in relation["tags"]] == ["vip", "hot"]
    assert relation["churn_risk"]["level"] == "lost"
    assert view["stage"]["current"]["name"] == "已成交"
    two = admin_client.get("/console/api/v1/customers/wmc2/profile").get_json()
    assert [r["userid"] for r in two["relations"]] == ["alice", "bob"]
    assert admin_client.get("/console/api/v1/customers/nobody/profile").status_code == 404
    timeline = admin_client.get("/console/api/v1/customers/wmc1/timeline").get_json()
    assert timeline["items"][0]["kind_label"] == "添加为客户" and timeline["items"][0]["summary"] == "扫码添加"
    assert timeline["items"][0]["occurred_at"] == "2026-01-10T00:00:00Z"
    assert admin_client.get("/console/api/v1/customers/nobody/timeline").status_code == 404
    assert admin_client.get("/console/api/v1/customers/wmc1/timeline?limit=0").status_code == 422


def _token(client):
    from tests.console.conftest import page_token

    return page_token(client)
