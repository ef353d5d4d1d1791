"""Churn play against the service, in-process: the simulator's chat archive reaches
archived_message through msgaudit_notify and the sandbox archive source, and the churn signals
see the reply; 时间快进 moves the service's clock (sandbox mode only) through the sandbox_clock
callback, and the caught-up sweeps score a customer silent since the start dormant."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import responses
from sqlalchemy import select

from sandbox.actions import Actions
from sandbox.app import create_simulator_app
from sandbox.callbacks import CallbackSender, flask_client_transport
from scrm import clock as scrm_clock
from scrm import sandbox_clock
from scrm.clock import utcnow
from scrm.config import override, settings
from scrm.extensions import db
from scrm.models import ArchivedMessage, CallbackEvent, ChurnRun, RelationActivityDay, RelationRisk, TimelineEntry
from scrm.services.churn import nightly, score_corp
from scrm.services.events.archive import set_archive_source
from scrm.services.events.sandbox import install_simulator_archive
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, WECOM_BASE
from tests.helpers import run_jobs
from tests.sandbox.conftest import FakeClock, make_world

SIMULATOR = urlsplit(WECOM_BASE)._replace(path="").geturl()  # the archive is beside the API


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock starts at the wall clock, as the service's does."""
    return FakeClock(time.time())


def link(app, client, clock):
    """(world, actions): the simulator speaks as the TEST corp both ways; every URL under its
    origin (the API and the chat archive) is routed to its test client."""
    world = make_world(clock, corp_id=TEST_CORP_ID, secret=TEST_SECRET, token=TEST_TOKEN, aes_key=TEST_AES_KEY)
    sim = create_simulator_app(world).test_client()

    def forward(request):
        url = urlsplit(request.url)
        reply = sim.open(url.path, method=request.method, query_string=url.query, data=request.body or b"")
        return reply.status_code, {"Content-Type": reply.content_type}, reply.data

    sender = CallbackSender("http://service.test/wecom/callback", corp_id=TEST_CORP_ID, token=TEST_TOKEN,
                            aes_key=TEST_AES_KEY, feed=world.feed, transport=flask_client_transport(client),
                            asynchronous=False)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    for method in ("GET", "POST"):
        mock.add_callback(method, re.compile(re.escape(SIMULATOR) + "/.*"), callback=forward)
    return world, Actions(world, sender), mock


@pytest.fixture
def played(app, client, clock, monkeypatch):
    """The service in sandbox mode (its clock offset and archive source installed as create_app
    installs them there), the nightly churn run on and the other nightly runs off."""
    override(app, SANDBOX=True, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None, CHURN_SCORING_AT="04:30")
    monkeypatch.setattr(nightly, "real_sleep", lambda seconds: None)
    sandbox_clock.install(app)
    install_simulator_archive(settings(app))
    world, actions, mock = link(app, client, clock)
    try:
        with mock:
            yield world, actions
    finally:
        scrm_clock.use_offset(None)
        set_archive_source(None, corp_id=TEST_CORP_ID)


def add_customer(app, world, actions, name: str) -> tuple[str, str]:
    staff = next(s for s in world.staff.values() if s.has_contact)
    added = actions.run("add_customer", {"userid": staff.userid, "name": name, "welcome_code": False})
    run_jobs(app)
    return staff.userid, added["external_userid"]


def risk(external_userid: str) -> RelationRisk:
    db.session.expire_all()
    return db.session.scalar(select(RelationRisk).filter_by(external_userid=external_userid))


def test_a_customer_reply_is_pulled_into_archived_message_and_counts_as_a_reply(app, played):
    world, actions = played
    userid, external_userid = add_customer(app, world, actions, "回复的客户")
    replied = actions.run("customer_replies", {"userid": userid, "external_userid": external_userid,
                                              "text": "我考虑好了，下单"})
    actions.run("staff_messages_customer", {"userid": userid, "external_userid": external_userid, "text": "好的"})
    run_jobs(app)

    rows = db.session.scalars(select(ArchivedMessage).order_by(ArchivedMessage.seq)).all()
    assert [(r.seq, r.msgid, r.from_id, r.peer_id, r.msgtype) for r in rows] == [
        (1, replied["msgid"], external_userid, userid, "text"), (2, rows[1].msgid, userid, external_userid, "text")]
    assert rows[0].body["text"]["content"] == "我考虑好了，下单"
    assert rows[0].msgtime == datetime.fromtimestamp(replied["msgtime"] / 1000, UTC).replace(tzinfo=None)

    score_corp(TEST_CORP_ID, utcnow())
    (day,) = db.session.scalars(select(RelationActivityDay).filter_by(external_userid=external_userid)).all()
    assert (day.inbound, day.outbound) == (1, 1)
    scored = risk(external_userid)
    assert scored.last_inbound_at == rows[0].msgtime and scored.reply_days_90 == 1 and scored.level == "active"


def test_advance_time_moves_the_services_clock_and_silent_customers_go_dormant(app, played, redis_client):
    world, actions = played
    _, silent = add_customer(app, world, actions, "沉默的客户")
    userid, talker = add_customer(app, world, actions, "回复的客户")
    start = utcnow()

    actions.run("advance_time", {"days": 20})
    run_jobs(app)                         # the sandbox_clock callback: the offset, then the catch-up job
    assert timedelta(days=20) <= utcnow() - start < timedelta(days=20, minutes=5)
    assert int(redis_client.get(sandbox_clock.KEY)) == 20 * 86400
    assert sandbox_clock.RedisClockOffset(redis_client)() == timedelta(days=20)  # what any process reads
    run_jobs(app, ("periodic",))          # every sweep once for the new time: the nightly churn run
    assert (risk(silent).level, risk(talker).level) == ("cooling", "cooling")

    actions.run("customer_replies", {"userid": userid, "external_userid": talker, "text": "最近忙，下周见"})
    actions.run("advance_time", {"days": 11})
    run_jobs(app)
    run_jobs(app, ("periodic",))

    quiet = risk(silent)
    assert (quiet.level, quiet.previous_level, quiet.reason) == ("dormant", "cooling", "silent")
    assert quiet.last_interaction_at is None and 30 <= (utcnow() - quiet.silent_since).days <= 31
    assert risk(talker).level == "active"  # replied 11 days ago
    change = db.session.scalar(select(TimelineEntry).filter_by(external_userid=silent, kind="churn_risk")
                               .order_by(TimelineEntry.id.desc()))
    assert change.summary == "流失风险：降温 → 沉睡"
    runs = db.session.scalars(select(ChurnRun).order_by(ChurnRun.run_day)).all()
    assert len(runs) == 2 and all(r.status == "done" and r.relations == 2 for r in runs)


def test_outside_sandbox_mode_the_clock_callback_changes_nothing(app, client, clock, redis_client):
    sandbox_clock.install(app)            # as create_app does: no offset outside sandbox mode
    world, actions, mock = link(app, client, clock)
    with mock:
        actions.run("advance_time", {"days": 31})
        run_jobs(app)
    assert abs(utcnow() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert redis_client.get(sandbox_clock.KEY) is None
    assert db.session.scalar(select(CallbackEvent.event)) == "sandbox_clock"  # received, stored, no effect
