"""A worker SIGKILLed mid-job while WeCom answers slowly (issue #10, reliability 1 and 2).

The killed worker held the WeCom token lock and the claim on its inbox row. A new worker must
not stall the callback view (no WeCom call or token-lock wait inside a write transaction; the
dead holder's lock lapses within its lease), and the killed event must be processed again
within a minute of the restart (its claim's lease lapses; the sweep enqueues it afresh,
whatever RQ still says about the dead worker's job)."""
from __future__ import annotations

import os
import time

from sqlalchemy import select

from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.services import inbox
from tests.faults.support import SlowWeCom, wait_for, worker
from tests.helpers import event_xml, post_callback


def add_event(external_userid: str) -> str:
    return event_xml("change_external_contact", "add_external_contact", UserID="zhangsan",
                     ExternalUserID=external_userid)


def statuses() -> dict[int, str]:
    db.session.expire_all()
    statuses = dict(db.session.execute(select(CallbackEvent.id, CallbackEvent.status)).all())
    db.session.rollback()
    return statuses


def test_a_worker_killed_mid_job_stalls_no_ack_and_its_event_is_processed_after_restart(
        app, client, tmp_path):
    override(app, INBOX_SWEEP_AFTER_SECONDS=1)  # the sweep below stands in for the scheduler
    with SlowWeCom(delay=0.3) as wecom:
        env = {**os.environ, "WECOM_API_BASE_URL": wecom.base_url, "SCRM_INBOX_LEASE_SECONDS": "2",
               "LOG_LEVEL": "INFO", "LOG_FORMAT": "text"}
        wecom.hold_gettoken.set()
        assert post_callback(client, add_event("wm-killed")).status_code == 200
        killed_id = next(iter(statuses()))

        first = worker(env, tmp_path / "worker-1.log", "callbacks")
        try:
            # Mid-job: the row is claimed and the worker waits on WeCom holding the token lock.
            assert wait_for(lambda: wecom.asked("/gettoken") == 1, 60), first.output()
        finally:
            first.kill()
        db.session.expire_all()
        assert db.session.get(CallbackEvent, killed_id).claimed_by is not None
        db.session.rollback()
        wecom.hold_gettoken.clear()

        wecom.hold_gettoken.set()  # WeCom stays stuck for the new worker too, until every ack is in
        second = worker(env, tmp_path / "worker-2.log", "callbacks")
        try:
            for n in range(12):  # callbacks keep coming while the new worker starts and waits on WeCom
                if n == 6:  # the dead holder's token lock lapsed: the new worker now waits on WeCom
                    assert wait_for(lambda: wecom.asked("/gettoken") == 2, 60), second.output()
                assert post_callback(client, add_event(f"wm-after-{n}")).status_code == 200
                # acknowledged with the row committed in the inbox (not spooled for later), while
                # WeCom still hangs: no ack waits on a WeCom call or on a write lock held across one
                assert len(statuses()) == n + 2 and wecom.hold_gettoken.is_set()
                inbox.sweep()
                time.sleep(0.25)
            assert wecom.asked("/gettoken") == 2
            wecom.hold_gettoken.clear()
            done = wait_for(lambda: set(statuses().values()) == {"processed"}, 60, interval=0.5,
                            on_wait=inbox.sweep)
            assert done, (statuses(), second.output()[-3000:])
        finally:
            second.kill()
    assert len(statuses()) == 13
    row = db.session.get(CallbackEvent, killed_id)
    assert (row.status, row.attempts, row.claimed_by) == ("processed", 2, None)
