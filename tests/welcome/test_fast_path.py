"""The welcome fast path: sent once, inside WeCom's 20 s window, outcome recorded."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import CallbackEvent, Staff, TimelineEntry, WelcomeMessage
from scrm.queueing import get_queue
from scrm.services import welcome
from tests.conftest import TEST_CORP_ID
from tests.helpers import RedisRoundTrips, event_xml, post_callback, run_jobs, wecom_url

SEND = wecom_url("externalcontact/send_welcome_msg")


def add_event(code: str = "WELCOMECODE", external_userid: str = "wmCUSTOMER1") -> str:
    return event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                     ExternalUserID=external_userid, State="channel_a", WelcomeCode=code)


def welcome_row() -> WelcomeMessage:
    db.session.expire_all()
    return db.session.scalars(select(WelcomeMessage)).one()


def send_calls(wecom) -> list[dict]:
    return [json.loads(c.request.body) for c in wecom.calls if c.request.url.startswith(SEND)]


def test_add_with_welcome_code_is_sent_from_the_welcome_queue(app, client, wecom):
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三"))
    db.session.commit()
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    for _ in range(3):  # WeCom's retries of the same callback
        assert post_callback(client, add_event()).status_code == 200
    assert get_queue("welcome").count == 1  # enqueued at receipt, once
    assert run_jobs(app, ["welcome"]) == 1
    row = welcome_row()
    assert (row.status, row.userid, row.external_userid, row.attempts) == (
        "sent", "zhangsan", "wmCUSTOMER1", 1)
    assert row.latency_ms is not None and row.latency_ms >= 0
    assert send_calls(wecom) == [{"welcome_code": "WELCOMECODE",
                                  "text": {"content": "您好，我是张三，很高兴认识您！有任何问题随时联系我。"}}]
    entry = db.session.scalars(select(TimelineEntry).filter_by(kind="welcome_sent")).one()
    assert entry.external_userid == "wmCUSTOMER1" and entry.source == "job"


def test_the_fallback_enqueue_never_sends_twice(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    post_callback(client, add_event())
    event_id = db.session.scalar(select(CallbackEvent.id))
    assert welcome.send_welcome(event_id) == "sent"
    assert welcome.send_welcome(event_id) == "skipped"  # e.g. the callbacks handler's fallback
    assert len(send_calls(wecom)) == 1


def test_41050_is_recorded_too_late_and_41051_already_chatting(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": 41050, "errmsg": "invalid welcome_code"})
    wecom.add(responses.POST, SEND, json={"errcode": 41051, "errmsg": "already chatting"})
    post_callback(client, add_event("CODE1", "wmA"))
    post_callback(client, add_event("CODE2", "wmB"))
    run_jobs(app, ["welcome"])
    db.session.expire_all()
    rows = {r.external_userid: r for r in db.session.scalars(select(WelcomeMessage))}
    assert (rows["wmA"].status, rows["wmA"].errcode) == ("too_late", 41050)
    assert (rows["wmB"].status, rows["wmB"].errcode) == ("already_chatting", 41051)
    assert len(send_calls(wecom)) == 2  # neither retried


def test_41096_is_retried_inside_the_window(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": 41096, "errmsg": "being distributed"})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    post_callback(client, add_event())
    event = db.session.scalars(select(CallbackEvent)).one()
    clock.freeze(event.received_at + timedelta(seconds=1))
    assert welcome.send_welcome(event.id) == "retrying"
    assert get_queue("welcome").scheduled_job_registry.count == 1  # the retry, 1 s later
    clock.freeze(event.received_at + timedelta(seconds=2))
    assert welcome.send_welcome(event.id) == "sent"
    row = welcome_row()
    assert row.attempts == 2 and row.latency_ms == 2000
    assert len(send_calls(wecom)) == 2


def test_a_retryable_error_near_the_deadline_is_not_retried(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": -1, "errmsg": "system busy"})
    post_callback(client, add_event())
    event = db.session.scalars(select(CallbackEvent)).one()
    clock.freeze(event.received_at + timedelta(seconds=17))
    assert welcome.send_welcome(event.id) == "too_late"
    assert welcome_row().errcode == -1


def test_a_job_that_starts_after_the_window_does_not_call_wecom(app, client, wecom):
    post_callback(client, add_event())
    event = db.session.scalars(select(CallbackEvent)).one()
    clock.freeze(event.received_at + timedelta(seconds=25))
    assert welcome.send_welcome(event.id) == "too_late"
    assert send_calls(wecom) == []


def test_adds_without_a_welcome_code_enqueue_nothing(app, client):
    xml = event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                    ExternalUserID="wmX", State="s")
    post_callback(client, xml)
    assert get_queue("welcome").count == 0


def test_the_welcome_client_is_reused_per_thread_for_a_minute(app):
    """One TTL cache (cachetools) keeps each worker thread's WeComClient for CLIENT_REUSE_SECONDS."""
    with app.app_context():
        first = welcome._client(TEST_CORP_ID)
        assert welcome._client(TEST_CORP_ID) is first
        other_thread = []

        def build() -> None:
            with app.app_context():
                other_thread.append(welcome._client(TEST_CORP_ID))
        thread = threading.Thread(target=build)
        thread.start()
        thread.join()
        assert other_thread[0] is not first  # requests sessions are not shared between threads
        welcome._clients.by_key.expire(time.monotonic() + welcome.CLIENT_REUSE_SECONDS + 1)
        assert welcome._client(TEST_CORP_ID) is not first


def test_a_welcomes_call_to_wecom_is_one_redis_round_trip(app, client, wecom, redis_url, monkeypatch):
    """Once the process has the token (copied from Redis) and the limiter's script, a welcome's
    send_welcome_msg costs one Redis round trip: the booking, which also counts the call."""
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    post_callback(client, add_event("CODE1", "wmA"))
    post_callback(client, add_event("CODE2", "wmB"))
    first, second = db.session.scalars(select(CallbackEvent.id).order_by(CallbackEvent.id)).all()
    round_trips = RedisRoundTrips(redis_url)
    monkeypatch.setitem(app.extensions, "redis", round_trips.redis)  # the real server, its trips recorded
    monkeypatch.setattr(welcome, "_clients", threading.local())  # no thread's client from an earlier test
    assert welcome.send_welcome(first) == "sent"
    round_trips.clear()

    assert welcome.send_welcome(second) == "sent"

    assert round_trips.trips == [["EVALSHA"]]
    assert len(send_calls(wecom)) == 2
    assert len([c for c in wecom.calls if "/gettoken" in c.request.url]) == 1
