"""The morning digest against the hand-built history (tests/reports/conftest.py): at SCRM_DIGEST_AT
on D3, after the night's aggregation, each manager gets D2's figures of the members their data
scope covers and each member with overdue next follow-ups their own list — once, however often
the sweep runs, with a second scheduler or a worker that died mid-send."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

import tests.churn.conftest  # noqa: F401  (first: it and alerts_support import each other)
from scrm.config import override
from scrm.extensions import db
from scrm.models import DigestMessage, DigestRun
from scrm.services import app_messages, digest, reports
from scrm.services.digest import cards
from tests.churn.alerts_support import sent, to  # noqa: F401  (the message/send fixture)
from tests.reports.conftest import local

NIGHT, AT = local("2026-11-12 05:00"), local("2026-11-12 08:30")


@pytest.fixture
def digest_app(reports_app, history):
    override(reports_app, DIGEST_AT="08:30")
    return reports_app


def card(state, userid: str) -> dict:
    [body] = to(state, userid)
    assert body["msgtype"] == "template_card"
    return body["template_card"]


def rows_of(card_: dict) -> dict[str, str]:
    return {row["keyname"]: row["value"] for row in card_["horizontal_content_list"]}


def test_managers_get_their_teams_figures_and_members_their_overdue_follow_ups_once(digest_app, sent):  # noqa: F811
    reports.run_nightly(NIGHT)
    assert digest.sweep(AT - timedelta(minutes=1)) == 0 and sent["bodies"] == []
    assert digest.sweep(AT) == 4
    assert sorted(body["touser"] for body in sent["bodies"]) == ["boss", "mgr_a", "mgr_b", "zhang"]

    # mgr_a sees A and A1 (zhang, li and themselves): D2 is 11-11
    a = card(sent, "mgr_a")
    assert a["main_title"]["title"] == "团队昨日跟进 · 11月11日"
    assert a["emphasis_content"] == {"title": "2", "desc": "昨日新增客户"}
    assert rows_of(a) == {"客户总数": "4", "流失客户": "1", "跟进记录": "0", "逾期未跟进": "1",
                               "首次回复": "—", "回复率": "50%"}
    assert a["card_action"]["url"].endswith("/console/reports?from=2026-11-11&to=2026-11-11")
    # mgr_b: wang only — nothing of A
    b = card(sent, "mgr_b")
    assert b["emphasis_content"]["title"] == "0" and rows_of(b)["客户总数"] == "2" and rows_of(b)["流失客户"] == "0"
    # the admin: the whole corp
    assert rows_of(card(sent, "boss"))["客户总数"] == "6" and card(sent, "boss")["emphasis_content"]["title"] == "2"

    # zhang: the follow-up due at 08:00 today is overdue; the one met at 00:30 is not
    z = card(sent, "zhang")
    assert z["emphasis_content"] == {"title": "1", "desc": "位客户的跟进已逾期"}
    assert z["horizontal_content_list"] == [{"keyname": "客户", "value": "客户1（今天到期）"}]
    assert "figure=next_overdue&userid=zhang" in z["card_action"]["url"]

    for later in (AT + timedelta(minutes=1), local("2026-11-12 12:00"), local("2026-11-12 23:59")):
        digest.sweep(later)
    assert len(sent["bodies"]) == 4
    assert [(r.status, r.messages) for r in db.session.scalars(select(DigestRun))] == [("done", 4)]
    assert {(m.userid, m.kind, m.status) for m in db.session.scalars(select(DigestMessage))} == {
        ("boss", "manager", "sent"), ("mgr_a", "manager", "sent"), ("mgr_b", "manager", "sent"),
        ("zhang", "staff", "sent")}


def test_the_digest_waits_for_the_nights_aggregation(digest_app, sent):  # noqa: F811
    assert digest.sweep(AT) == 0
    assert db.session.scalars(select(DigestRun)).all() == []
    reports.run_nightly(AT + timedelta(minutes=5))  # late tonight
    assert digest.sweep(AT + timedelta(minutes=6)) == 4


def test_a_second_scheduler_or_a_worker_that_died_sends_nothing_twice(digest_app, sent):  # noqa: F811
    reports.run_nightly(NIGHT)
    assert digest.plan_due(AT) == 4
    assert digest.plan_due(AT) == 0  # a second scheduler: the run is taken
    # the run's worker died before finishing: another takes it over and adds nothing
    db.session.query(DigestRun).update({"status": "running", "started_at": AT})
    db.session.commit()
    assert digest.plan_due(AT + timedelta(minutes=11)) == 0
    assert db.session.scalar(select(DigestRun.attempts)) == 2
    # a sender died holding two claims: they go back after the stale window, and go out once
    db.session.query(DigestMessage).filter(DigestMessage.userid.in_(["mgr_a", "zhang"])).update(
        {"status": "sending", "claim_token": "dead", "claimed_at": AT}, synchronize_session=False)
    db.session.commit()
    assert digest.send_pending(AT + timedelta(minutes=1)) == 2  # boss and mgr_b
    assert digest.send_pending(AT + app_messages.STALE_CLAIM + timedelta(minutes=1)) == 2
    assert sorted(body["touser"] for body in sent["bodies"]) == ["boss", "mgr_a", "mgr_b", "zhang"]


def test_a_retryable_error_is_retried_and_a_permanent_one_recorded(digest_app, sent):  # noqa: F811
    reports.run_nightly(NIGHT)
    sent["replies"] = [{"errcode": -1, "errmsg": "system busy"}] + [
        {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"m{n}"} for n in range(3)] + [
        {"errcode": 81013, "errmsg": "user & party & tag all invalid"}]
    assert digest.sweep(AT) == 3
    [busy] = [m for m in db.session.scalars(select(DigestMessage)) if m.status == "pending"]
    assert busy.attempts == 1 and busy.next_attempt_at > AT and "-1" in busy.error
    assert digest.send_pending(busy.next_attempt_at) == 0  # the next reply: 81013, permanent
    db.session.refresh(busy)
    assert (busy.status, busy.attempts) == ("failed", 2) and "81013" in busy.error


def test_cards_fit_the_template_card_rules_and_cut_long_names(app):
    from sandbox.endpoints.messages import _check_template_card

    manager = cards.manager_card({"day": "2026-11-11", "members": 3, "customers": 4, "new_customers": 2, "lost": 1,
                                  "follow_ups": 0, "next_overdue": 1, "first_reply_avg_seconds": 2400,
                                  "reply_rate": 50.0})
    staff = cards.staff_card("zhang", {"overdue": 9, "as_of": "2026-11-12T00:30:00", "customers": [
        {"name": "=一个名字特别特别特别长的客户", "due_at": "2026-11-09T00:00:00"}] * 6})
    for built in (manager, staff):
        _check_template_card(built)
        json.dumps(built, ensure_ascii=False)
    assert rows_of(manager)["首次回复"] == "40 分钟"
    assert staff["horizontal_content_list"][0]["value"] == "=一个名字特别特别特别…（逾期 3 天）"
    assert staff["sub_title_text"] == "另有 3 位未列出，点开查看全部。"
