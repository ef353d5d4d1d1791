"""WeCom's per-member behaviour figures (`get_user_behavior_data`): pulled nightly for yesterday,
one member per call; retried in place on retryable errors; a failed night is recorded and tried
again; `flask scrm churn rebuild --pull-from` backfills in spans of 30 days."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from scrm import clock
from scrm.extensions import db
from scrm.models import ChurnRun, Staff, StaffBehaviorDay
from scrm.queueing import sweep_named
from scrm.wecom.behavior import day_timestamp
from tests.churn.conftest import local, relation, staff
from tests.conftest import TEST_CORP_ID

NIGHT = local("2026-11-13 05:00")  # after SCRM_CHURN_SCORING_AT 04:30; WeCom's yesterday: 11-12


def rows() -> dict[tuple[str, date], tuple]:
    db.session.expire_all()
    return {(r.userid, r.day): (r.chat_cnt, r.message_cnt, r.reply_percentage, r.avg_reply_time,
                                r.negative_feedback_cnt)
            for r in db.session.scalars(select(StaffBehaviorDay))}


def test_nightly_pull_per_member_with_retries(churn_app, behaviour):
    staff("zhangsan", "lisi")
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="wangwu", status=5))  # left: not asked about
    relation("zhangsan", "wmA", "2026-11-01 10:00")
    db.session.commit()
    behaviour["errors"] = [45033, -1]  # too many concurrent calls, then busy: retried in place
    sweep = sweep_named("churn-scoring")
    assert sweep.run(local("2026-11-13 04:29")) == 0 and behaviour["bodies"] == []
    assert sweep.run(NIGHT) == 1
    day = date(2026, 11, 12)
    assert rows() == {("lisi", day): (4, 20, 87.5, 12.0, 1), ("zhangsan", day): (8, 20, 87.5, 12.0, 0)}
    assert [b["userid"] for b in behaviour["bodies"]] == [["lisi"]] * 3 + [["zhangsan"]]
    assert behaviour["bodies"][-1]["start_time"] == behaviour["bodies"][-1]["end_time"] == day_timestamp(day)
    assert sweep.run(NIGHT) == 0  # once a local day
    run = db.session.scalar(select(ChurnRun))
    assert (run.status, run.attempts, run.staff_rows, run.relations) == ("done", 1, 2, 1)


def test_a_failed_night_is_recorded_and_tried_again(churn_app, behaviour):
    staff("zhangsan")
    relation("zhangsan", "wmA", "2026-11-01 10:00")
    db.session.commit()
    behaviour["errors"] = [60011]  # no privilege: permanent
    sweep = sweep_named("churn-scoring")
    assert sweep.run(NIGHT) == 0
    run = db.session.scalar(select(ChurnRun))
    assert (run.status, run.attempts, run.relations) == ("failed", 1, 1)  # the scores were kept
    assert "60011" in run.error
    assert sweep.run(local("2026-11-13 05:01")) == 1
    db.session.expire_all()
    assert (run.status, run.attempts, run.error) == ("done", 2, None)
    assert len(rows()) == 1


def test_rebuild_backfills_in_spans_of_thirty_days(churn_app, runner, behaviour):
    staff("zhangsan")
    db.session.commit()
    clock.freeze(NIGHT)
    result = runner.invoke(args=["scrm", "churn", "rebuild", "--from", "2026-11-01", "--pull-from", "2026-09-28"])
    assert result.exit_code == 0, result.output
    assert [(b["start_time"], b["end_time"]) for b in behaviour["bodies"]] == [
        (day_timestamp(date(2026, 9, 28)), day_timestamp(date(2026, 10, 27))),
        (day_timestamp(date(2026, 10, 28)), day_timestamp(date(2026, 11, 12)))]
    assert db.session.scalar(select(func.count()).select_from(StaffBehaviorDay)) == 46
    again = runner.invoke(args=["scrm", "churn", "rebuild", "--from", "2026-11-01", "--pull-from", "2026-11-10"])
    assert again.exit_code == 0 and db.session.scalar(select(func.count()).select_from(StaffBehaviorDay)) == 46
    today = runner.invoke(args=["scrm", "churn", "rebuild", "--from", "2026-11-01", "--pull-from", "2026-11-13"])
    assert today.exit_code != 0 and "yesterday or earlier" in today.output
