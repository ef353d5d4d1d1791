"""GET /api/v1/churn/*: a relation's risk, churn by staff member, channel and month."""
from __future__ import annotations

import pytest

from scrm import clock
from scrm.extensions import db
from scrm.models import Channel, StaffBehaviorDay
from scrm.services.churn import score_corp
from tests.api.factories import gen_token
from tests.churn.conftest import follow_up, local, relation
from tests.conftest import TEST_CORP_ID

NOW = local("2026-04-15 10:00")


@pytest.fixture
def get(client, churn_app):
    token = gen_token()

    def _get(path: str, **kw):
        return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kw)
    return _get


@pytest.fixture
def scored(churn_app):
    db.session.add(Channel(corp_id=TEST_CORP_ID, name="门店海报", type=1, scene=2, state="ch_poster",
                           userids=["zhangsan"], tag_ids=[]))
    relation("zhangsan", "wmA", "2026-01-01 10:00", state="ch_poster")
    c = relation("lisi", "wmC", "2026-01-01 10:00")
    d = relation("lisi", "wmD", "2026-01-01 10:00")
    follow_up("zhangsan", "wmA", "2026-03-20 10:00")
    db.session.add_all([StaffBehaviorDay(corp_id=TEST_CORP_ID, userid="lisi", day=local(f"2026-04-{d} 10:00").date(),
                                         chat_cnt=3, message_cnt=9, reply_percentage=p, avg_reply_time=10,
                                         negative_feedback_cnt=1) for d, p in (("02", 80.0), ("03", 90.0))])
    db.session.commit()
    score_corp(TEST_CORP_ID, local("2026-02-01 05:00"), since=local("2026-01-01 12:00").date())
    relation("zhangsan", "wmB", "2026-04-01 10:00", state="ch_poster")
    c.status, c.status_changed_at = "deleted_by_customer", local("2026-03-05 09:00")
    d.status, d.status_changed_at = "deleted_by_staff", local("2026-04-02 09:00")
    db.session.commit()
    score_corp(TEST_CORP_ID, local("2026-04-14 05:00"), since=local("2026-01-01 12:00").date())
    clock.freeze(NOW)


def test_a_relations_risk(get, scored):
    body = get("/api/v1/churn/relations/zhangsan/wmA").get_json()
    assert (body["level"], body["label"], body["days_silent"], body["previous_level"]) == ("cooling", "降温", 26,
                                                                                           "dormant")
    assert body["last_interaction_at"] == "2026-03-20T02:00:00Z" and body["level_changed_at"] == "2026-04-13T21:00:00Z"
    assert [r["code"] for r in body["reasons"]] == ["days_silent", "trend_up"]
    assert body["reasons"][0]["text"] == "已 26 天无互动"
    assert get("/api/v1/churn/relations/zhangsan/wmNOPE").status_code == 404
    assert get("/api/v1/churn/relations/lisi/wmC").get_json()["reasons"][0]["text"] == "客户已删除你"


def test_churn_by_staff_channel_and_month(get, scored):
    staff = get("/api/v1/churn/by-staff?from=2026-04-01&to=2026-04-15").get_json()
    assert staff["thresholds"] == {"cooling_days": 14, "dormant_days": 30, "lost_days": 90}
    rows = {r["userid"]: r for r in staff["rows"]}
    assert {k: rows["lisi"][k] for k in ("relations", "lost", "deleted_by_customer", "deleted_by_staff",
                                         "became_lost", "wecom_negative_feedback", "wecom_reply_percentage")} == {
        "relations": 2, "lost": 2, "deleted_by_customer": 0, "deleted_by_staff": 1, "became_lost": 2,
        "wecom_negative_feedback": 2, "wecom_reply_percentage": 85.0}
    assert {k: rows["zhangsan"][k] for k in ("relations", "active", "cooling", "wecom_chats")} == {
        "relations": 2, "active": 1, "cooling": 1, "wecom_chats": None}

    channels = {r["state"]: r for r in get("/api/v1/churn/by-channel?from=2026-03-01&to=2026-04-15")
                .get_json()["rows"]}
    assert channels["ch_poster"]["channel"] == "门店海报" and channels["ch_poster"]["relations"] == 2
    assert channels[None]["deleted_by_customer"] == 1 and channels[None]["deleted_by_staff"] == 1

    months = get("/api/v1/churn/by-month?from=2026-02-01&to=2026-04-15").get_json()
    assert months["rows"] == [
        {"month": "2026-02", "deleted_by_customer": 0, "deleted_by_staff": 0, "became_dormant": 0, "became_lost": 0},
        {"month": "2026-03", "deleted_by_customer": 1, "deleted_by_staff": 0, "became_dormant": 0, "became_lost": 0},
        {"month": "2026-04", "deleted_by_customer": 0, "deleted_by_staff": 1, "became_dormant": 0, "became_lost": 2}]
    assert get("/api/v1/churn/by-month").get_json()["from"] == "2025-05-01"
    assert get("/api/v1/churn/by-staff?from=2026-04-10&to=2026-04-01").status_code == 422
