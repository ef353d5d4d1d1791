"""GET /api/v1/events and /api/v1/events/<id>."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.api.factories import OTHER_CORP_ID, T0, gen_event
from tests.conftest import TEST_CORP_ID


def event_ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.get_json()
    return [e["id"] for e in resp.get_json()]


def test_list_newest_first_without_payload(get):
    old = gen_event(received_at=T0)
    new = gen_event(received_at=T0 + timedelta(minutes=1), status="failed", attempts=3,
                    last_error="WeComError 60011", processed_at=None)
    gen_event(OTHER_CORP_ID, received_at=T0 + timedelta(minutes=2))
    body = get("/api/v1/events").get_json()
    assert [e["id"] for e in body] == [new.id, old.id]
    assert body[0] == {
        "id": new.id, "corp_id": TEST_CORP_ID, "received_at": "2024-05-01T08:31:00Z",
        "event": "change_external_contact", "change_type": "add_external_contact",
        "status": "failed", "attempts": 3, "last_error": "WeComError 60011", "processed_at": None}


def test_filters(get):
    pending = gen_event(received_at=T0, status="pending")
    processed = gen_event(received_at=T0 + timedelta(minutes=1), status="processed",
                          processed_at=T0 + timedelta(minutes=2))
    chat = gen_event(received_at=T0 + timedelta(minutes=2), event="change_external_chat",
                     change_type="update", status="processed")
    assert event_ids(get("/api/v1/events?status=pending")) == [pending.id]
    assert event_ids(get("/api/v1/events?status=processed")) == [chat.id, processed.id]
    assert event_ids(get("/api/v1/events?event=change_external_chat")) == [chat.id]
    assert event_ids(get("/api/v1/events?since=2024-05-01T08:31:00Z")) == [chat.id, processed.id]
    assert event_ids(get("/api/v1/events?since=2024-05-01T08:31:00Z&status=pending")) == []


def test_bad_filters_are_422(get):
    resp = get("/api/v1/events?status=done&since=soon")
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]["query"]) == {"status", "since"}


def test_pagination(get):
    events = [gen_event(received_at=T0 + timedelta(minutes=n)) for n in range(3)]
    resp = get("/api/v1/events?page=2&page_size=2")
    assert event_ids(resp) == [events[0].id]
    assert json.loads(resp.headers["X-Pagination"])["total"] == 3


def test_detail_has_the_payload(get):
    event = gen_event(payload="<xml><Event><![CDATA[change_external_contact]]></Event></xml>")
    body = get(f"/api/v1/events/{event.id}").get_json()
    assert body["payload"] == "<xml><Event><![CDATA[change_external_contact]]></Event></xml>"
    assert body["id"] == event.id


def test_detail_of_another_corp_or_unknown_is_404(get):
    theirs = gen_event(OTHER_CORP_ID)
    assert get(f"/api/v1/events/{theirs.id}").status_code == 404
    assert get(f"/api/v1/events/{theirs.id + 1000}").status_code == 404
