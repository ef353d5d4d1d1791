"""The daily digest of newly dormant customers: after that night's scoring, at
SCRM_CHURN_DIGEST_AT corp-local, one message per member listing up to SCRM_CHURN_ALERT_NAMES
names and the count; once per member and day however often the sweep runs."""
from __future__ import annotations

import pytest

from scrm.config import override
from scrm.extensions import db
from scrm.models import ChurnDigestRun, Customer, Staff
from scrm.services import churn_alerts
from tests.churn.alerts_support import alerts, to
from tests.churn.conftest import local, relation
from tests.conftest import TEST_CORP_ID


@pytest.fixture
def silent(churn_app, behaviour):
    """zhangsan: 12 customers added 2026-02-08 (cooling on 03-10, dormant on 03-11), one dormant
    since long ago, one recent; lisi: one going dormant on 03-11, and lisi has left by then."""
    db.session.add_all([Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三", status=1),
                        Staff(corp_id=TEST_CORP_ID, userid="lisi", name="李四", status=1)])
    for i in range(12):
        relation("zhangsan", f"wm{i:02d}", "2026-02-08 10:00", remark=f"客户{i:02d}")
    relation("zhangsan", "wmOld", "2025-11-01 10:00")
    relation("zhangsan", "wmNew", "2026-03-01 10:00")
    relation("lisi", "wmL", "2026-02-08 10:00")
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid="wm00", name="<b>不用这个名字</b>"))
    db.session.commit()


def test_the_digest_lists_the_customers_that_became_dormant_that_night_once(silent, tick, sent):
    tick(local("2026-03-10 04:30"))  # scoring: the twelve are cooling, wmOld dormant (its first level)
    tick(local("2026-03-10 09:01"))
    assert alerts() == [] and sent["bodies"] == []

    db.session.query(Staff).filter_by(userid="lisi").update({"left_at": local("2026-03-10 12:00")})
    db.session.commit()
    tick(local("2026-03-11 04:30"))  # the twelve (and lisi's) become dormant
    tick(local("2026-03-11 08:59"))
    assert alerts() == []
    tick(local("2026-03-11 09:00"))
    rows = alerts()
    assert sorted(r.external_userid for r in rows) == [f"wm{i:02d}" for i in range(12)]
    assert {(r.kind, r.recipient_userid, r.status, str(r.day)) for r in rows} == {
        ("dormant", "zhangsan", "pending", "2026-03-11")}

    tick(local("2026-03-11 09:01"))  # past the batch window: one message
    [digest] = to(sent, "zhangsan")
    text = digest["text"]["content"]
    assert "12 位客户昨夜进入沉睡" in text
    assert "客户00、客户01" in text and "客户09等" in text and "客户10" not in text  # ten names, the remark first
    assert "不用这个名字" not in text
    assert {r.status for r in alerts()} == {"sent"}

    for at in ("2026-03-11 09:02", "2026-03-11 15:00", "2026-03-11 23:59"):
        tick(local(at))
    assert len(sent["bodies"]) == 1
    runs = db.session.query(ChurnDigestRun).order_by(ChurnDigestRun.run_day)
    assert [(str(r.run_day), r.status, r.alerts) for r in runs] == [("2026-03-10", "done", 0),
                                                                     ("2026-03-11", "done", 12)]


def test_a_second_scheduler_or_a_restart_adds_no_second_digest(silent, tick, sent):
    tick(local("2026-03-10 04:30"))
    tick(local("2026-03-11 04:30"))
    tick(local("2026-03-11 09:00"))
    assert len(alerts()) == 13  # lisi's too (still here)
    # A worker that died mid-run: its claim goes stale and another takes the run over.
    db.session.query(ChurnDigestRun).update({"status": "running", "started_at": local("2026-03-11 09:00")})
    db.session.commit()
    assert churn_alerts.create_digests(local("2026-03-11 09:30")) == 0  # the rows' dedupe keys
    assert db.session.query(ChurnDigestRun).one().attempts == 2
    assert len(alerts()) == 13
    tick(local("2026-03-11 09:31"))
    assert sorted(b["touser"] for b in sent["bodies"]) == ["lisi", "zhangsan"]


def test_the_digest_waits_for_the_nights_scoring(silent, tick, sent, churn_app):
    override(churn_app, CHURN_DIGEST_AT="03:00")
    tick(local("2026-03-10 04:30"))
    tick(local("2026-03-11 03:30"))  # past the digest time, before the scoring
    assert alerts() == [] and [str(r.run_day) for r in db.session.query(ChurnDigestRun)] == ["2026-03-10"]
    tick(local("2026-03-11 04:30"))  # scoring, then the digest in the same tick
    assert len(alerts()) == 13


def test_the_digest_can_be_turned_off(silent, tick, churn_app):
    override(churn_app, CHURN_DIGEST_AT=None)
    tick(local("2026-03-10 04:30"))
    tick(local("2026-03-11 04:30"))
    tick(local("2026-03-11 12:00"))
    assert alerts() == []


def test_a_member_who_left_gets_no_digest(silent, tick, sent):
    db.session.query(Staff).filter_by(userid="lisi").update({"left_at": local("2026-03-10 12:00")})
    db.session.commit()
    tick(local("2026-03-10 04:30"))
    tick(local("2026-03-11 04:30"))
    tick(local("2026-03-11 09:00"))
    assert "lisi" not in {r.recipient_userid for r in alerts()}
