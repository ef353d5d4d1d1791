"""The sandbox's catch-up after 时间快进 (scrm/services/sandbox_catch_up.py): every sweep once for
the new time; before the local scoring time, the nightly runs first as of last night's."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import ChurnRun, RelationRisk
from scrm.services.sandbox_catch_up import catch_up, last_scoring_time
from tests.churn.conftest import local, relation, staff


def scored(external_userid: str) -> RelationRisk:
    db.session.expire_all()
    return db.session.scalar(select(RelationRisk).filter_by(external_userid=external_userid))


def test_before_the_scoring_time_last_nights_run_is_done_first(churn_app, behaviour):
    staff("zhangsan")
    relation("zhangsan", "wmSilent", "2026-03-01 01:00")
    db.session.commit()

    assert last_scoring_time(local("2026-04-01 05:00")) is None
    results = catch_up(local("2026-04-01 02:00"))  # 31 days and an hour after the add, before 04:30
    last_night = local("2026-03-31 04:30")
    assert list(results) == [last_night.isoformat(), local("2026-04-01 02:00").isoformat()]
    assert results[last_night.isoformat()]["churn-scoring"] == 1
    assert set(results[last_night.isoformat()]) == {"nightly-sync", "group-stats", "churn-scoring"}
    assert results[local("2026-04-01 02:00").isoformat()]["churn-scoring"] == 0  # today's: not before 04:30
    risk = scored("wmSilent")
    assert (risk.level, risk.scored_at) == ("dormant", last_night)  # 30 days silent at last night's run
    (run,) = db.session.scalars(select(ChurnRun)).all()
    assert (run.run_day.isoformat(), run.status) == ("2026-03-31", "done")


def test_after_the_scoring_time_one_pass_scores_today(churn_app, behaviour):
    staff("zhangsan")
    relation("zhangsan", "wmSilent", "2026-03-01 10:00")
    db.session.commit()

    now = local("2026-04-01 10:00")
    results = catch_up(now)
    assert list(results) == [now.isoformat()] and results[now.isoformat()]["churn-scoring"] == 1
    assert (scored("wmSilent").level, scored("wmSilent").scored_at) == ("dormant", now)
