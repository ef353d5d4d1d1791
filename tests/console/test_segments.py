"""Saved segments (/api/v1/segments): CRUD through the console's mount, 422s, and a live count
equal to the list's total for the same filters."""
from __future__ import annotations

import pytest

from scrm.extensions import db
from scrm.models import CustomerSegment, RelationTag
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token
from tests.console.customer_data import seed


@pytest.fixture
def api(admin_client):
    seed()
    token = page_token(admin_client)

    def call(method: str, path: str, **kw):
        return admin_client.open("/console/api/v1" + path, method=method, headers={"X-CSRF-Token": token}, **kw)
    return call


FILTERS = {"tag_id": ["vip", "hot"], "tag_mode": "all", "added_from": "2026-01-01T08:00:00+08:00"}


def test_create_list_get_update_delete(api):
    created = api("POST", "/segments", json={"name": "高价值客户", "description": "VIP 且高意向", "filters": FILTERS})
    assert created.status_code == 201
    body = created.get_json()
    assert body["name"] == "高价值客户" and body["created_by"]
    # stored as the schema dumps it: times in UTC with Z, defaults kept
    assert body["filters"] == {"tag_id": ["vip", "hot"], "tag_mode": "all", "added_from": "2026-01-01T00:00:00Z"}
    segment_id = body["id"]
    assert [s["name"] for s in api("GET", "/segments").get_json()] == ["高价值客户"]
    assert api("GET", f"/segments/{segment_id}").get_json()["description"] == "VIP 且高意向"
    renamed = api("PATCH", f"/segments/{segment_id}", json={"name": "重点客户", "filters": {"owner": ["bob"]}})
    assert renamed.status_code == 200 and renamed.get_json()["filters"] == {"owner": ["bob"], "tag_mode": "any"}
    assert db.session.get(CustomerSegment, segment_id).name == "重点客户"
    assert api("DELETE", f"/segments/{segment_id}").status_code == 204
    assert api("GET", f"/segments/{segment_id}").status_code == 404
    assert db.session.query(CustomerSegment).count() == 0


def test_the_count_equals_the_lists_total_and_follows_the_data(api, admin_client):
    segment_id = api("POST", "/segments", json={"name": "s", "filters": FILTERS}).get_json()["id"]
    listed = admin_client.get("/console/api/v1/customer-search", query_string=FILTERS).get_json()
    count = api("GET", f"/segments/{segment_id}/count").get_json()
    assert count["total"] == listed["total"] == 2 and count["total_capped"] is False
    db.session.add(RelationTag(corp_id=TEST_CORP_ID, userid="alice", external_userid="wmc2", tag_key="hot",
                               tag_id="hot", type=1))
    db.session.commit()
    exact = api("GET", f"/segments/{segment_id}/count", query_string={"exact": "true"}).get_json()
    assert exact["total"] == 3 and exact["customers"] == 3 and exact["count_cap"] is None
    by_owner = api("POST", "/segments", json={"name": "t", "filters": {"tag_id": ["vip"]}}).get_json()["id"]
    exact = api("GET", f"/segments/{by_owner}/count", query_string={"exact": "true"}).get_json()
    assert exact["total"] == 3 and exact["customers"] == 3  # alice→wmc1, alice→wmc2, carol→wmc4


@pytest.mark.parametrize("body, field", [
    ({"filters": {}}, "name"),
    ({"name": "x"}, "filters"),
    ({"name": "", "filters": {}}, "name"),
    ({"name": "x", "filters": {"tag_mode": "either"}}, "filters"),
    ({"name": "x", "filters": {"added_from": "2026-02-01T00:00:00Z", "added_to": "2026-01-01T00:00:00Z"}},
     "filters"),
    ({"name": "x", "filters": {"risk_level": ["sad"]}}, "filters"),
    ({"name": "x", "filters": {"no_such_filter": 1}}, "filters"),
])
def test_bad_segments_answer_422(api, body, field):
    resp = api("POST", "/segments", json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]["json"]


def test_names_are_unique_per_corp(api):
    assert api("POST", "/segments", json={"name": "a", "filters": {}}).status_code == 201
    second = api("POST", "/segments", json={"name": "a", "filters": {}})
    assert second.status_code == 422 and "name" in second.get_json()["errors"]["json"]


def test_a_stored_filter_that_no_longer_validates_answers_422(api):
    db.session.add(CustomerSegment(corp_id=TEST_CORP_ID, name="old", filters={"risk_level": ["gone"]}))
    db.session.commit()
    segment_id = db.session.query(CustomerSegment.id).scalar()
    resp = api("GET", f"/segments/{segment_id}/count")
    assert resp.status_code == 422 and "filters" in resp.get_json()["errors"]["json"]


def test_segments_of_another_corp_are_not_found(api):
    db.session.add(CustomerSegment(corp_id="othercorp", name="theirs", filters={}))
    db.session.commit()
    other = db.session.query(CustomerSegment.id).scalar()
    assert api("GET", f"/segments/{other}").status_code == 404
    assert api("GET", f"/segments/{other}/count").status_code == 404
    assert api("DELETE", f"/segments/{other}").status_code == 404
    assert api("GET", "/segments").get_json() == []


def test_changes_need_the_csrf_token(admin_client):
    assert admin_client.post("/console/api/v1/segments", json={"name": "a", "filters": {}}).status_code == 400
