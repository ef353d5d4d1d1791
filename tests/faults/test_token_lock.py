"""The WeCom token lock of a process that died stops blocking the others within its lease
(issue #10, reliability 1: a SIGKILLed worker's 35 s lock stalled every other process)."""
from __future__ import annotations

import os
import sys
import threading

import redis as redis_lib

from scrm.wecom import WeComClient
from scrm.wecom.lease_lock import LEASE_SECONDS, LeaseLock
from tests.faults.support import Process, SlowWeCom, wait_for

HOLDER = """
import sys, redis
from scrm.wecom import WeComClient
client = WeComClient("wwcorp", "secret", redis=redis.Redis.from_url(sys.argv[1]),
                     api_base_url=sys.argv[2], timeout=10)
client.access_token  # gettoken hangs: this process holds the refresh lock until killed
"""


def test_a_dead_holders_token_lock_lapses_within_its_lease(redis_url, redis_client, tmp_path):
    with SlowWeCom() as wecom:
        wecom.hold_gettoken.set()
        holder = Process([sys.executable, "-c", HOLDER, redis_url, wecom.base_url], dict(os.environ),
                         tmp_path / "holder.log")
        try:
            assert wait_for(lambda: wecom.asked("/gettoken") == 1, 30), holder.output()
            lock_keys = redis_client.keys("scrm:wecom:*:lock")
            assert len(lock_keys) == 1
            # Alive, the holder keeps renewing a short lease (the fetch may take 3 x 10 s + 5).
            assert 0 < redis_client.pttl(lock_keys[0]) <= LEASE_SECONDS * 1000
        finally:
            holder.kill()
        wecom.hold_gettoken.clear()

        client = WeComClient("wwcorp", "secret", redis=redis_lib.Redis.from_url(redis_url),
                             api_base_url=wecom.base_url, timeout=10)
        got: list[str] = []
        thread = threading.Thread(target=lambda: got.append(client.access_token), daemon=True)
        thread.start()
        thread.join(LEASE_SECONDS + 10)  # the old lock made this wait 35 s
        assert got == ["TOKEN"]
        assert wecom.asked("/gettoken") == 2


def test_a_live_holder_keeps_the_lock_past_its_lease_and_frees_it_on_release(redis_client):
    lock = LeaseLock(redis_client, "scrm:test:lock", wait=1, lease=0.3)
    assert lock.acquire()
    try:
        other = LeaseLock(redis_client, "scrm:test:lock", wait=0.6, lease=0.3)
        assert not other.acquire()  # waited two leases: the holder renewed
    finally:
        lock.release()
    assert redis_client.exists("scrm:test:lock") == 0
    with LeaseLock(redis_client, "scrm:test:lock", wait=0.1, lease=0.3) as acquired:
        assert acquired
