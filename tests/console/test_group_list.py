"""The group list's filters (/api/v1/groups: owner, name, label, group code, created between)
and the group page's data (members, daily analytics) through the console's mount."""
from __future__ import annotations

import pytest

from scrm.extensions import db
from scrm.models import GroupCode, GroupLabel
from tests.console.customer_data import seed


@pytest.fixture
def data(admin_client):
    seed()


def chat_ids(client, **params):
    resp = client.get("/console/api/v1/groups", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return [g["chat_id"] for g in resp.get_json()]


def test_each_filter(admin_client, data):
    assert chat_ids(admin_client) == ["wrg1", "wrg2"]
    assert chat_ids(admin_client, owner="bob") == ["wrg2"]
    assert chat_ids(admin_client, name="vip") == ["wrg1"]
    label = db.session.query(GroupLabel.id).scalar()
    assert chat_ids(admin_client, label_id=label) == ["wrg1"]
    code = db.session.query(GroupCode.id).scalar()
    assert chat_ids(admin_client, group_code_id=code) == ["wrg2"]
    assert chat_ids(admin_client, created_from="2026-03-01T00:00:00Z") == ["wrg2"]
    assert chat_ids(admin_client, created_to="2026-03-01T00:00:00Z") == ["wrg1"]


@pytest.mark.parametrize("params, field", [
    ({"created_from": "2026-03-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"}, "created_from"),
    ({"group_code_id": "x"}, "group_code_id"),
    ({"status": "sleeping"}, "status"),
])
def test_bad_filters_answer_422(admin_client, data, params, field):
    resp = admin_client.get("/console/api/v1/groups", query_string=params)
    assert resp.status_code == 422 and field in resp.get_json()["errors"]["query"]


def test_the_group_page_data(admin_client, data):
    detail = admin_client.get("/console/api/v1/groups/wrg1", query_string={"include_quit": "true"}).get_json()
    assert detail["member_count"] == 2 and [m["member_id"] for m in detail["members"]] == ["alice", "wmc1", "wmc2"]
    assert detail["labels"][0]["name"] == "高价值"
    stats = admin_client.get("/console/api/v1/group-stats/groups",
                             query_string={"chat_id": "wrg1", "from": "2026-01-01", "to": "2026-01-31"}).get_json()
    days = {row["day"]: (row["members"], row["joins"], row["leaves"]) for row in stats["rows"]}
    assert days == {"2026-01-06": (2, 1, 0), "2026-01-07": (3, 1, 0), "2026-01-09": (2, 0, 1)}
