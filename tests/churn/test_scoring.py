"""The scoring: RFE figures from each kind of signal, thresholds per corp and per segment (tag,
funnel stage), deletions, what goes on the timeline, and rows left alone when nothing changed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from scrm import clock
from scrm.extensions import db
from scrm.models import (
    ArchiveCursor,
    CustomerStage,
    FunnelStage,
    GroupChat,
    GroupMember,
    RelationActivityDay,
    RelationRisk,
    RelationTag,
    Sop,
    SopEnrollment,
    SopStep,
    SopTask,
    TimelineEntry,
)
from scrm.services.churn import risk_for, score_corp
from scrm.services.events import archive
from tests.churn.conftest import follow_up, local, message, relation
from tests.conftest import TEST_CORP_ID
from tests.welcome.support import gen_tags


def risk(external_userid: str) -> RelationRisk:
    db.session.expire_all()
    return db.session.scalar(select(RelationRisk).filter_by(external_userid=external_userid))


def sop_sent(userid: str, external_userid: str, at: str) -> None:
    sop = Sop(corp_id=TEST_CORP_ID, name="新客", conditions={})
    db.session.add(sop)
    db.session.flush()
    step = SopStep(corp_id=TEST_CORP_ID, sop_id=sop.id, position=1, anchor="added", delay_minutes=0,
                   attachments=[], delivery="mass_send")
    enrollment = SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop.id, userid=userid, external_userid=external_userid,
                               added_at=local(at))
    db.session.add_all([step, enrollment])
    db.session.flush()
    db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop.id, step_id=step.id, enrollment_id=enrollment.id,
                           userid=userid, external_userid=external_userid, delivery="mass_send",
                           due_at=local(at), status="sent", sent_at=local(at)))


def test_rfe_score_from_messages_follow_ups_sop_sends_and_groups(churn_app, runner):
    relation("zhangsan", "wmA", "2026-01-01 10:00")
    relation("zhangsan", "wmB", "2026-01-01 10:00")
    for day in ("03-10", "03-20", "03-31"):
        message("wmA", "zhangsan", f"2026-{day} 12:00")
    message("zhangsan", "wmA", "2026-03-31 12:30")
    message("wmA", "zhangsan", "2026-03-25 12:00", action="recall")  # a recall is not an interaction
    message("wmA", "zhangsan", "2026-03-26 12:00", roomid="wrG1")     # nor a group message
    follow_up("zhangsan", "wmA", "2026-02-15 09:00")
    sop_sent("zhangsan", "wmA", "2026-03-31 15:00")
    db.session.add_all([GroupChat(corp_id=TEST_CORP_ID, chat_id="wrG1", owner="zhangsan"),
                        GroupMember(corp_id=TEST_CORP_ID, chat_id="wrG1", member_id="wmA", type=2)])
    db.session.commit()

    clock.freeze(local("2026-04-01 05:00"))
    result = runner.invoke(args=["scrm", "churn", "rebuild", "--from", "2026-01-01"])
    assert result.exit_code == 0, result.output

    a = risk("wmA")
    assert a.last_interaction_at == local("2026-03-31 15:00") and a.last_inbound_at == local("2026-03-31 12:00")
    assert (a.active_days_30, a.active_days_90, a.reply_days_90, a.in_group) == (3, 4, 3, True)
    # R 5 (silent 0 days), F 3 (3 + 4 = 7), E 2 (3 reply days) + 1 (in the member's group)
    assert (a.recency, a.frequency, a.engagement, a.score, a.level) == (5, 3, 3, 76, "active")
    day = db.session.scalar(select(RelationActivityDay).filter_by(external_userid="wmA",
                                                                  day=local("2026-03-31 12:00").date()))
    assert (day.inbound, day.outbound, day.follow_ups, day.sop_sends) == (1, 1, 0, 1)
    b = risk("wmB")  # never a word since the add 90 days ago (89 whole days): dormant
    assert (b.recency, b.frequency, b.engagement, b.score, b.level, b.reason) == (1, 0, 0, 8, "dormant", "silent")
    view = risk_for(TEST_CORP_ID, "zhangsan", "wmA")
    assert view["trend"] == "up" and view["days_silent"] == 0 and view["label"] == "活跃"
    assert risk_for(TEST_CORP_ID, "zhangsan", "wmB")["reasons"][0] == {"code": "days_silent",
                                                                       "text": "添加后 89 天无互动"}
    # First levels are not level changes: nothing on the timeline.
    assert db.session.scalar(select(func.count()).select_from(TimelineEntry)) == 0


def test_thresholds_per_corp_tag_and_stage(churn_app, runner):
    gen_tags(("etVIP", "VIP"))
    stage = FunnelStage(corp_id=TEST_CORP_ID, name="意向", order=1)
    db.session.add(stage)
    for external_userid in ("wmA", "wmB", "wmC", "wmD"):
        relation("zhangsan", external_userid, "2026-01-01 10:00")
    db.session.add_all([RelationTag(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid=e, tag_key="etVIP",
                                    tag_id="etVIP", type=1) for e in ("wmB", "wmD")])
    db.session.flush()
    db.session.add_all([CustomerStage(corp_id=TEST_CORP_ID, external_userid=e, stage_id=stage.id)
                        for e in ("wmC", "wmD")])
    db.session.commit()
    for args in (["--cooling", "7", "--dormant", "20", "--lost", "60"],
                 ["--kind", "tag", "--value", "etVIP", "--cooling", "3", "--dormant", "5", "--lost", "10"],
                 ["--kind", "stage", "--value", str(stage.id), "--cooling", "30", "--dormant", "60", "--lost",
                  "120", "--priority", "50"]):
        result = runner.invoke(args=["scrm", "churn", "threshold", "set", *args])
        assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["scrm", "churn", "threshold", "set", "--kind", "tag", "--value", "etNONE",
                              "--cooling", "3", "--dormant", "5", "--lost", "10"])
    assert bad.exit_code != 0 and "no corp tag" in bad.output

    now = local("2026-01-09 05:00")  # 7 days and 19 hours after the add
    score_corp(TEST_CORP_ID, now)
    assert {e: risk(e).level for e in ("wmA", "wmB", "wmC", "wmD")} == {
        "wmA": "cooling",   # the corp's 7 / 20 / 60
        "wmB": "dormant",   # VIP: 3 / 5 / 10
        "wmC": "active",    # stage 意向: 30 / 60 / 120
        "wmD": "active"}    # both: the stage has the lower priority number

    result = runner.invoke(args=["scrm", "churn", "threshold", "delete", "--kind", "stage", "--value", str(stage.id)])
    assert result.output.strip() == "deleted"
    score_corp(TEST_CORP_ID, now + timedelta(minutes=1))
    assert (risk("wmD").level, risk("wmC").level) == ("dormant", "cooling")
    entry = db.session.scalar(select(TimelineEntry).filter_by(external_userid="wmD", kind="churn_risk"))
    assert entry.summary == "流失风险：活跃 → 沉睡" and entry.source == "job"
    assert entry.data["from"] == "active" and entry.data["to"] == "dormant" and entry.data["reason"] == "silent"


def test_deletions_are_lost_and_quiet_nights_write_nothing(churn_app):
    relation("zhangsan", "wmA", "2026-01-01 10:00")
    relation("zhangsan", "wmB", "2026-01-01 10:00")
    deleted = relation("zhangsan", "wmC", "2026-01-01 10:00")
    gone = relation("zhangsan", "wmD", "2026-01-01 10:00")
    db.session.commit()
    first = score_corp(TEST_CORP_ID, local("2026-01-02 05:00"))
    assert (first["relations"], first["changed"], first["level_changes"]) == (4, 4, 0)
    again = score_corp(TEST_CORP_ID, local("2026-01-02 06:00"))
    assert (again["changed"], again["level_changes"]) == (0, 0)

    deleted.status, deleted.status_changed_at = "deleted_by_staff", local("2026-01-02 08:00")
    gone.status = "deleted_unknown"
    db.session.commit()
    result = score_corp(TEST_CORP_ID, local("2026-01-03 05:00"))
    assert (result["changed"], result["level_changes"]) == (2, 2)
    assert (risk("wmC").level, risk("wmC").reason, risk("wmC").recency) == ("lost", "deleted_by_staff", 0)
    assert (risk("wmD").level, risk("wmD").reason) == ("lost", "deleted_unknown")
    assert risk_for(TEST_CORP_ID, "zhangsan", "wmC")["reasons"][0]["text"] == "你已删除客户"
    assert risk_for(TEST_CORP_ID, "zhangsan", "wmZ") is None


class Source:
    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages

    def fetch(self, seq: int, limit: int) -> list[dict]:
        return [m for m in self.messages if m["seq"] > seq][:limit]


def test_archived_one_to_one_messages_name_their_peer(churn_app):
    relation("zhangsan", "wmA", "2026-01-01 10:00")
    millis = int((local("2026-01-20 12:00") - local("1970-01-01 08:00")).total_seconds() * 1000)
    archive.set_archive_source(Source([
        {"seq": 1, "msgid": "m1", "action": "send", "from": "wmA", "tolist": ["zhangsan"], "roomid": "",
         "msgtime": millis, "msgtype": "text", "text": {"content": "在吗"}},
        {"seq": 2, "msgid": "m2", "action": "send", "from": "zhangsan", "tolist": ["wmA", "lisi"], "roomid": "wrG",
         "msgtime": millis + 1000, "msgtype": "text", "text": {"content": "大家好"}}]), corp_id=TEST_CORP_ID)
    try:
        cursor = ArchiveCursor(corp_id=TEST_CORP_ID, seq=0)
        db.session.add(cursor)
        assert archive.pull(TEST_CORP_ID, cursor) == 2
        db.session.commit()
    finally:
        archive.set_archive_source(None, corp_id=TEST_CORP_ID)
    score_corp(TEST_CORP_ID, local("2026-01-21 05:00"), since=local("2026-01-01 12:00").date())
    a = risk("wmA")
    assert a.last_inbound_at == a.last_interaction_at == local("2026-01-20 12:00")
    assert (a.reply_days_90, a.level) == (1, "active")


def test_a_scheduler_that_was_down_catches_up(churn_app, tick):
    relation("zhangsan", "wmA", "2026-01-01 10:00")
    db.session.commit()
    tick(local("2026-01-02 05:00"))
    follow_up("zhangsan", "wmA", "2026-01-05 10:00")  # no run for ten days meanwhile
    relation("zhangsan", "wmB", "2026-01-06 10:00")  # and a new relation
    db.session.commit()
    tick(local("2026-01-12 05:00"))
    assert risk("wmA").last_interaction_at == local("2026-01-05 10:00")
    assert (risk("wmB").level, risk("wmB").silent_since) == ("active", local("2026-01-06 10:00"))
