"""GET /api/v1/churn/alerts: what was sent to whom, filtered and paged like the other lists."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from scrm.services import churn_alerts
from tests.api.factories import gen_token
from tests.churn.alerts_support import T0, customer, deletion_xml, org


@pytest.fixture
def get(client):
    token = gen_token()

    def _get(query: str = ""):
        return client.get("/api/v1/churn/alerts" + query, headers={"Authorization": f"Bearer {token}"})
    return _get


@pytest.fixture
def told(app, frozen, deliver, sent):
    org()
    customer("wmA", "赵一")
    customer("wmB", "钱二")
    deliver(deletion_xml("wmA"))
    churn_alerts.sweep(T0 + timedelta(seconds=30))
    deliver(deletion_xml("wmB", at=T0 + timedelta(minutes=1)))


def test_the_list_shows_each_alert_with_its_status_newest_first(get, told):
    reply = get()
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    assert json.loads(reply.headers["X-Pagination"])["total"] == 4
    rows = reply.get_json()
    assert [(r["external_userid"], r["recipient_userid"], r["status"]) for r in rows] == [
        ("wmB", "wangwu", "pending"), ("wmB", "zhangsan", "pending"),
        ("wmA", "wangwu", "sent"), ("wmA", "zhangsan", "sent")]
    sent_row = rows[-1]
    assert (sent_row["kind"], sent_row["about_userid"], sent_row["msgid"], sent_row["attempts"]) == (
        "customer_deleted", "zhangsan", "xxxx", 1)
    assert sent_row["sent_at"].endswith("Z") and sent_row["error"] is None
    assert "赵一" not in reply.get_data(as_text=True)  # ids, never names


def test_filters_and_pages(get, told):
    assert [r["external_userid"] for r in get("?recipient=zhangsan&status=sent").get_json()] == ["wmA"]
    assert len(get("?kind=customer_deleted&about=zhangsan").get_json()) == 4
    assert get("?kind=dormant").get_json() == []
    assert len(get("?from=2026-03-10&to=2026-03-10").get_json()) == 4
    assert get("?from=2026-03-11").get_json() == []
    page = get("?page=2&page_size=3")
    assert len(page.get_json()) == 1 and json.loads(page.headers["X-Pagination"])["total_pages"] == 2


@pytest.mark.parametrize("query, field", [("?kind=everything", "kind"), ("?status=lost", "status"),
                                          ("?from=2026-13-01", "from"), ("?from=0001-01-01", "from"),
                                          ("?from=2026-03-10&to=2026-03-01", "from"), ("?page_size=1000", "page_size"),
                                          ("?recipient=" + "x" * 65, "recipient")])
def test_bad_filters_are_422_with_the_field(get, query, field):
    reply = get(query)
    assert reply.status_code == 422
    assert field in reply.get_json()["errors"]["query"]


def test_without_a_token_401(client):
    assert client.get("/api/v1/churn/alerts").status_code == 401
