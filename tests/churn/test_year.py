"""A simulated year of `flask scrm tick --now …` (weekly, at 05:00 local, after
SCRM_CHURN_SCORING_AT): silent relations cool, go dormant and are lost on the thresholds' days; a
customer who writes again is active again; a customer deleting the member is lost at once; each
level change is on the customer's timeline; WeCom's behaviour figures are pulled every night."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import ChurnRun, FollowRelation, RelationRisk, StaffBehaviorDay, TimelineEntry
from scrm.services.churn import risk_for
from tests.churn.conftest import follow_up, local, message, relation, staff
from tests.conftest import TEST_CORP_ID


def levels(external_userid: str) -> list[tuple[str, str, str]]:
    """The customer's churn timeline: (local day, from, to)."""
    entries = db.session.scalars(select(TimelineEntry).filter_by(external_userid=external_userid, kind="churn_risk")
                                 .order_by(TimelineEntry.occurred_at))
    return [((e.occurred_at + timedelta(hours=8)).date().isoformat(), e.data["from"], e.data["to"]) for e in entries]


def test_a_year_of_nightly_runs(tick, behaviour):
    staff("zhangsan", "lisi")
    relation("zhangsan", "wmQuiet", "2026-01-01 10:00")
    relation("zhangsan", "wmChatty", "2026-01-01 10:00")
    gone = relation("lisi", "wmGone", "2026-01-01 10:00")
    relation("lisi", "wmMoved", "2026-01-01 10:00", status="transferred")
    day = date(2026, 1, 3)
    while day <= date(2026, 5, 30):  # the customer writes every week until the end of May
        message("wmChatty", "zhangsan", f"{day} 12:00")
        message("zhangsan", "wmChatty", f"{day} 12:05")
        day += timedelta(days=7)
    message("wmChatty", "zhangsan", "2026-10-10 20:00")  # and comes back in October
    message("wmChatty", "wrRoom", "2026-10-11 20:00", roomid="wrRoom")  # group messages do not count
    follow_up("lisi", "wmGone", "2026-01-20 15:00")
    db.session.commit()

    ticks = [date(2026, 1, 2) + timedelta(days=7 * n) for n in range(53)]
    for day in ticks:
        if day == date(2026, 3, 6):  # the customer deleted lisi on 03-01 (del_follow_user)
            gone.status, gone.status_changed_at = "deleted_by_customer", local("2026-03-01 09:00")
            db.session.commit()
        counts = tick(local(f"{day} 05:00"))
        assert counts["churn-scoring"] == 1

    # Silent since the add on 01-01 10:00: 14 days → cooling, 30 → dormant, 90 → lost, on the
    # first run at or after each.
    assert levels("wmQuiet") == [("2026-01-16", "active", "cooling"), ("2026-02-06", "cooling", "dormant"),
                                 ("2026-04-03", "dormant", "lost")]
    # Last message 05-30 12:05; back on 10-10 20:00, then silent again.
    assert levels("wmChatty") == [("2026-06-19", "active", "cooling"), ("2026-07-03", "cooling", "dormant"),
                                  ("2026-09-04", "dormant", "lost"), ("2026-10-16", "lost", "active"),
                                  ("2026-10-30", "active", "cooling"), ("2026-11-13", "cooling", "dormant")]
    # A follow-up on 01-20 counts as an interaction; the deletion on 03-01 makes it lost at once.
    assert levels("wmGone") == [("2026-01-16", "active", "cooling"), ("2026-01-23", "cooling", "active"),
                                ("2026-02-06", "active", "cooling"), ("2026-02-20", "cooling", "dormant"),
                                ("2026-03-06", "dormant", "lost")]
    assert db.session.scalar(select(RelationRisk).filter_by(external_userid="wmMoved")) is None

    summary = db.session.scalar(select(TimelineEntry.summary).filter_by(external_userid="wmQuiet")
                                .order_by(TimelineEntry.occurred_at))
    assert summary == "流失风险：活跃 → 降温"

    chatty = risk_for(TEST_CORP_ID, "zhangsan", "wmChatty", now=local("2026-12-31 05:00"))
    assert chatty["level"] == "dormant" and chatty["days_silent"] == 81
    assert chatty["previous_level"] == "cooling" and chatty["trend"] == "down"
    assert chatty["last_inbound_at"] == local("2026-10-10 20:00")
    gone_risk = risk_for(TEST_CORP_ID, "lisi", "wmGone")
    assert gone_risk["level"] == "lost" and gone_risk["reasons"][0] == {"code": "deleted_by_customer",
                                                                         "text": "客户已删除你"}

    # Once per local day, and WeCom's figures for each member for each night's yesterday.
    assert db.session.scalar(select(func.count()).select_from(ChurnRun)) == len(ticks)
    assert db.session.scalar(select(func.count()).select_from(StaffBehaviorDay)) == 2 * len(ticks)
    assert db.session.scalar(select(func.sum(StaffBehaviorDay.negative_feedback_cnt))) == len(ticks)
    assert all(len(body["userid"]) == 1 for body in behaviour["bodies"])
    assert db.session.scalar(select(FollowRelation.status).filter_by(external_userid="wmGone")) == "deleted_by_customer"
