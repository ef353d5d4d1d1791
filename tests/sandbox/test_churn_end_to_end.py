"""Churn play against the service, in-process: the simulator's chat archive reaches
archived_message through msgaudit_notify and the sandbox archive source, and the churn signals
see the reply; 时间快进 moves the service's clock (sandbox mode only) through the sandbox_clock
callback, and the caught-up sweeps score a customer silent since the start dormant."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scrm import sandbox_clock
from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import ArchivedMessage, CallbackEvent, ChurnRun, RelationActivityDay, RelationRisk, TimelineEntry
from scrm.services.churn import score_corp
from tests.conftest import TEST_CORP_ID
from tests.helpers import run_jobs
from tests.sandbox.churn_support import played, wall_clock  # noqa: F401 (fixtures)
from tests.sandbox.conftest import link


def add_customer(app, world, actions, name: str) -> tuple[str, str]:
    staff = next(s for s in world.staff.values() if s.has_contact)
    added = actions.run("add_customer", {"userid": staff.userid, "name": name, "welcome_code": False})
    run_jobs(app)
    return staff.userid, added["external_userid"]


def risk(external_userid: str) -> RelationRisk:
    db.session.expire_all()
    return db.session.scalar(select(RelationRisk).filter_by(external_userid=external_userid))


def test_a_customer_reply_is_pulled_into_archived_message_and_counts_as_a_reply(app, played):  # noqa: F811
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


def test_advance_time_moves_the_services_clock_and_silent_customers_go_dormant(app, played, redis_client):  # noqa: F811
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


def test_outside_sandbox_mode_the_clock_callback_changes_nothing(app, client, wall_clock, redis_client):  # noqa: F811
    sandbox_clock.install(app)            # as create_app does: no offset outside sandbox mode
    world, actions, mock = link(client, wall_clock)
    with mock:
        actions.run("advance_time", {"days": 31})
        run_jobs(app)
    assert abs(utcnow() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert redis_client.get(sandbox_clock.KEY) is None
    assert db.session.scalar(select(CallbackEvent.event)) == "sandbox_clock"  # received, stored, no effect
