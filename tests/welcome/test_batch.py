"""The welcome process's batched path (scrm/services/welcome_batch.py): a batch is claimed and
drafted in one transaction of a few statements, sent without the database, settled together;
same outcomes, timeline entries and exactly-once rule as send_welcome."""
from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent, Staff, TimelineEntry, WelcomeMessage
from scrm.queueing import get_queue
from scrm.services import welcome, welcome_batch, welcome_templates
from tests.conftest import TEST_CORP_ID
from tests.helpers import count_queries, event_xml, post_callback, wecom_url
from tests.welcome.test_dispatcher import run_until, running, wait

SEND = wecom_url("externalcontact/send_welcome_msg")
GET = wecom_url("externalcontact/get")


def add(client, n: int, userid: str = "zhangsan", state: str = "") -> int:
    post_callback(client, event_xml("change_external_contact", "add_external_contact", UserID=userid,
                                    ExternalUserID=f"wmB{n}", State=state, WelcomeCode=f"CODE{n}"))
    return db.session.scalar(select(CallbackEvent.id).order_by(CallbackEvent.id.desc()).limit(1))


def rows() -> dict[str, WelcomeMessage]:
    db.session.expire_all()
    return {row.external_userid: row for row in db.session.scalars(select(WelcomeMessage))}


def sent() -> int:
    return sum(row.status == "sent" for row in rows().values())


def sent_codes(wecom) -> list[str]:
    return sorted(json.loads(c.request.body)["welcome_code"] for c in wecom.calls if c.request.url.startswith(SEND))


def run_batch(event_ids: list[int]) -> list[str]:
    prepared = welcome_batch.prepare(event_ids)
    outcomes = [welcome_batch.send(item, welcome._client(item.claim.corp_id)) for item in prepared]
    welcome_batch.settle(outcomes)
    return [outcome.status for outcome, _ in outcomes]


def test_a_batch_is_claimed_in_a_few_statements_and_sent_once_each(app, client, wecom):
    db.session.add_all([Staff(corp_id=TEST_CORP_ID, userid=u, name=n) for u, n in (("zhangsan", "张三"),
                                                                                      ("lisi", "李四"))])
    db.session.commit()
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    ids = [add(client, n, userid=("zhangsan", "lisi")[n % 2]) for n in range(6)]

    with count_queries() as statements:
        prepared = welcome_batch.prepare([*ids, ids[0]])  # the fallback job of an event in the same batch
    # the events, the claims, the staff names, the customers' names, the corp default template
    # (once per member: no channel), COMMIT
    assert len(prepared) == 6
    assert len([s for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT"))]) <= 6
    assert {p.claim.external_userid: p.claim.attempts for p in prepared} == {f"wmB{n}": 1 for n in range(6)}
    assert all(row.status == "sending" for row in rows().values())  # committed before any call
    assert welcome_batch.prepare(ids) == []  # claimed: a second batch of the same events gets nothing

    outcomes = [welcome_batch.send(item, welcome._client(TEST_CORP_ID)) for item in prepared]
    welcome_batch.settle(outcomes)

    assert sent_codes(wecom) == [f"CODE{n}" for n in range(6)]
    assert {k: r.status for k, r in rows().items()} == {f"wmB{n}": "sent" for n in range(6)}
    row = rows()["wmB1"]
    assert row.content == {"text": "您好，我是李四，很高兴认识您！有任何问题随时联系我。"}
    assert row.answered_at is not None and row.latency_ms >= 0
    entry = db.session.scalars(select(TimelineEntry).filter_by(external_userid="wmB1", kind="welcome_sent")).one()
    assert (entry.source, entry.userid, entry.event_id, entry.summary) == ("job", "lisi", ids[1], row.content["text"])
    assert entry.data == {"status": "sent", "latency_ms": row.latency_ms, "template_id": None, "channel_id": None,
                          "attachments": 0}


def test_the_batch_and_send_welcome_write_the_same_row_and_entry(app, client, wecom):
    template = welcome_templates.create(TEST_CORP_ID, {"name": "t", "text": "{nickname}您好", "is_default": True,
                                                       "nickname_fallback": "朋友"})
    wecom.add(responses.GET, GET, json={"errcode": 0, "errmsg": "ok",
                                        "external_contact": {"external_userid": "x", "name": "小王"}})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    single, batched = add(client, 1), add(client, 2)

    assert welcome.send_welcome(single) == "sent"
    assert run_batch([batched]) == ["sent"]

    one, two = rows()["wmB1"], rows()["wmB2"]
    for name in ("status", "content", "template_id", "channel_id", "attempts", "errcode", "error"):
        assert getattr(one, name) == getattr(two, name), name
    assert two.content == {"text": "小王您好"} and two.template_id == template.id
    entries = {e.external_userid: e for e in db.session.scalars(select(TimelineEntry).filter_by(kind="welcome_sent"))}
    a, b = entries["wmB1"], entries["wmB2"]
    assert (a.source, a.summary, a.userid) == (b.source, b.summary, b.userid)
    assert {k: v for k, v in a.data.items() if k != "latency_ms"} == {k: v for k, v in b.data.items()
                                                                       if k != "latency_ms"}


def test_outcomes_retry_too_late_and_already_chatting(app, client, wecom):
    wecom.add(responses.POST, SEND, json={"errcode": 41096, "errmsg": "being distributed"})  # retryable
    wecom.add(responses.POST, SEND, json={"errcode": 41051, "errmsg": "already chatting"})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    retry, chatting = add(client, 1), add(client, 2)
    late = add(client, 3)
    event = db.session.get(CallbackEvent, late)
    event.received_at -= timedelta(seconds=19)
    db.session.commit()

    assert run_batch([retry, chatting, late]) == ["retrying", "already_chatting"]

    found = rows()
    assert (found["wmB1"].status, found["wmB1"].errcode) == ("retrying", 41096)
    assert (found["wmB2"].status, found["wmB2"].errcode) == ("already_chatting", 41051)
    assert found["wmB3"].status == "too_late" and found["wmB3"].latency_ms >= 19000  # no call for it
    assert sent_codes(wecom) == ["CODE1", "CODE2"]
    assert get_queue("welcome").scheduled_job_registry.get_job_ids() == [f"welcome-{retry}-1"]
    kinds = {e.external_userid for e in db.session.scalars(select(TimelineEntry).filter_by(kind="welcome_sent"))}
    assert kinds == {"wmB2"}  # as send_welcome: sent and already chatting are on the timeline

    assert run_batch([retry]) == ["sent"]  # the retry's job: the RETRYING row is claimed again
    assert (rows()["wmB1"].status, rows()["wmB1"].attempts) == ("sent", 2)


def test_the_dispatcher_sends_a_burst_through_the_batch(app, client, wecom, caplog):
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    for n in range(8):
        add(client, n)
    with caplog.at_level(logging.WARNING, logger="scrm.welcome_worker"):
        dispatcher = run_until(app, lambda: sent() == 8)
    assert sent_codes(wecom) == sorted(f"CODE{n}" for n in range(8))
    assert dispatcher.performed == 8
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no fallback to one by one


def test_a_batch_that_cannot_be_prepared_runs_its_jobs_one_by_one(app, client, wecom, monkeypatch, caplog):
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    for n in range(3):
        add(client, n)

    def broken(_ids):
        raise RuntimeError("database gone")

    monkeypatch.setattr(welcome_batch, "prepare", broken)
    run_until(app, lambda: sent() == 3)
    assert {k: r.status for k, r in rows().items()} == {f"wmB{n}": "sent" for n in range(3)}
    assert sent_codes(wecom) == ["CODE0", "CODE1", "CODE2"]
    assert "failed to prepare" in caplog.text


def get_calls(wecom) -> int:
    return sum(c.request.url.startswith(GET) for c in wecom.calls)


def test_the_nickname_is_looked_up_while_the_batch_is_claimed(app, client, wecom, monkeypatch):
    welcome_templates.create(TEST_CORP_ID, {"name": "t", "text": "{nickname}您好", "is_default": True})
    wecom.add(responses.GET, GET, json={"errcode": 0, "errmsg": "ok",
                                        "external_contact": {"external_userid": "x", "name": "小王"}})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    for n in range(3):
        add(client, n)
    assert get_queue("welcome").jobs[0].meta == {"corp_id": TEST_CORP_ID, "external_userid": "wmB0", "state": ""}
    prepare, seen = welcome_batch.prepare, []

    def slow_prepare(ids):  # the claim waits until a lookup has reached WeCom (at most 5 s)
        deadline = time.monotonic() + 5
        while not get_calls(wecom) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(get_calls(wecom))
        return prepare(ids)

    monkeypatch.setattr(welcome_batch, "prepare", slow_prepare)
    run_until(app, lambda: sent() == 3)
    assert seen[0] >= 1  # a lookup was under way before the batch was claimed
    assert get_calls(wecom) == 3  # one each: the senders used the early answers
    assert {k: r.content for k, r in rows().items()} == {f"wmB{n}": {"text": "小王您好"} for n in range(3)}


def test_a_channel_whose_template_needs_no_nickname_is_not_looked_up_again(app, client, wecom):
    wecom.add(responses.GET, GET, json={"errcode": 0, "errmsg": "ok",
                                        "external_contact": {"external_userid": "x", "name": "小王"}})
    wecom.add(responses.POST, SEND, json={"errcode": 0, "errmsg": "ok"})
    add(client, 0)  # no template: the built-in text, no {nickname}
    with running(app):
        assert wait(lambda: sent() == 1)
        assert get_calls(wecom) == 1  # the first add of the channel: looked up on the chance
        add(client, 1)
        add(client, 2)
        assert wait(lambda: sent() == 3)
    assert get_calls(wecom) == 1  # the next ones were not
    assert {r.status for r in rows().values()} == {"sent"} and not any("小王" in r.content["text"]
                                                                       for r in rows().values())

