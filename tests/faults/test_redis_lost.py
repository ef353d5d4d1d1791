"""Redis holds nothing that cannot be rebuilt (issue #11, backups): with every key gone (a
FLUSHDB standing in for a Redis server replaced without its data), the periodic sweeps find
the work again in the database — pending inbox rows and queued sync runs — and the workers
finish it. The customer SOP steps' part of the claim is tested in tests/sop/test_sop_flow.py."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent, SyncRun
from scrm.queueing import get_queue
from scrm.services.sync import runs
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, run_jobs


def test_pending_callbacks_are_processed_after_redis_loses_every_key(app, client, redis_client, runner):
    override(app, INBOX_SWEEP_AFTER_SECONDS=0)
    for n in range(3):
        xml = event_xml("change_future_thing", "appear", Id=str(n))  # stored, then marked ignored
        assert post_callback(client, xml).status_code == 200
    assert get_queue("callbacks").count + redis_client.llen("scrm:inbox:notices") >= 3

    redis_client.flushdb()  # the notices and any queued jobs are gone
    assert run_jobs(app) == 0

    result = runner.invoke(args=["scrm", "tick"])
    assert result.exit_code == 0, result.output
    assert run_jobs(app) == 3
    db.session.expire_all()
    assert set(db.session.scalars(select(CallbackEvent.status))) == {"ignored"}


def test_a_queued_sync_run_gets_its_job_again_after_redis_loses_it(app, redis_client, runner):
    run = runs.start(TEST_CORP_ID, ["tags"])
    assert get_queue("sync").count == 1
    redis_client.flushdb()
    assert get_queue("sync").count == 0

    later = (run.created_at + runs.QUEUED_GRACE + timedelta(seconds=1)).isoformat()
    result = runner.invoke(args=["scrm", "tick", "--now", later])
    assert result.exit_code == 0, result.output
    assert get_queue("sync").job_ids == [runs.job_id(db.session.get(SyncRun, run.id))]
    clock.freeze(None)
