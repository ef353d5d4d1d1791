"""The nightly reconciliation sweep: due at SCRM_NIGHTLY_SYNC_AT (Asia/Shanghai), once a day."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scrm.config import ConfigError, load_settings, override
from scrm.extensions import db
from scrm.models import SyncRun
from scrm.queueing import get_queue

# 2030-01-01T19:05Z is 03:05 on 2 January in Shanghai (UTC+8)
BEFORE = "2030-01-01T18:55:00+00:00"  # 02:55 local
DUE = "2030-01-01T19:05:00+00:00"
LATER_THAT_NIGHT = "2030-01-01T23:00:00+00:00"
NEXT_NIGHT = "2030-01-02T19:01:00+00:00"
ENV = {"SECRET_KEY": "schedule-test-secret-key-0123456789abcdef", "REDIS_URL": "redis://"}


def tick(runner, now: str) -> dict:
    result = runner.invoke(args=["scrm", "tick", "--now", now])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def nightly_runs() -> list[SyncRun]:
    return list(db.session.scalars(select(SyncRun).filter_by(requested_by="nightly").order_by(SyncRun.id)))


def test_the_nightly_sync_starts_once_when_due(app, runner):
    assert tick(runner, BEFORE)["nightly-sync"] == 0
    assert nightly_runs() == []

    assert tick(runner, DUE)["nightly-sync"] == 1
    assert tick(runner, DUE)["nightly-sync"] == 0
    (run,) = nightly_runs()
    assert (run.trigger_key, run.full, run.status, run.scopes) == (
        "nightly:2030-01-02", True, "queued", ["staff", "tags", "customers", "groups"])
    assert get_queue("sync").job_ids == [f"sync-{run.id}-0"]

    run.status = "succeeded"
    db.session.commit()
    assert tick(runner, LATER_THAT_NIGHT)["nightly-sync"] == 0  # that day's is done
    assert tick(runner, NEXT_NIGHT)["nightly-sync"] == 1
    assert [r.trigger_key for r in nightly_runs()] == ["nightly:2030-01-02", "nightly:2030-01-03"]


def test_a_corp_busy_with_another_sync_gets_its_nightly_run_afterwards(app, runner):
    db.session.add(SyncRun(corp_id="wwtestcorp0000001", scopes=["tags"], status="running"))
    db.session.commit()

    assert tick(runner, DUE)["nightly-sync"] == 0
    db.session.execute(SyncRun.__table__.update().values(status="succeeded"))
    db.session.commit()
    assert tick(runner, LATER_THAT_NIGHT)["nightly-sync"] == 1


def test_the_time_of_day_is_configurable(app, runner):
    override(app, NIGHTLY_SYNC_AT="04:30")
    assert tick(runner, DUE)["nightly-sync"] == 0
    assert tick(runner, "2030-01-01T20:31:00+00:00")["nightly-sync"] == 1
    override(app, NIGHTLY_SYNC_AT=None)  # SCRM_NIGHTLY_SYNC_AT=off
    assert tick(runner, NEXT_NIGHT)["nightly-sync"] == 0


@pytest.mark.parametrize("value, expected", [("03:00", "03:00"), ("4:5", "04:05"), ("off", None)])
def test_config_parses_the_nightly_time(value, expected):
    assert load_settings({**ENV, "SCRM_NIGHTLY_SYNC_AT": value}).nightly_sync_at == expected
    assert load_settings(ENV).nightly_sync_at == "03:00"


@pytest.mark.parametrize("value", ["25:00", "3pm", "03:60"])
def test_config_refuses_a_bad_nightly_time(value):
    with pytest.raises(ConfigError, match="SCRM_NIGHTLY_SYNC_AT"):
        load_settings({**ENV, "SCRM_NIGHTLY_SYNC_AT": value})
