"""The service's side of 时间快进: the offset reader (a second's cache, Redis failures keep the
last value) and create_app() installing it, with the simulator's archive source, in sandbox mode
only."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sandbox.embedded_redis import free_port
from scrm import clock, sandbox_clock
from scrm.app import create_app
from scrm.services.events.archive import NoArchiveSource, archive_source, set_archive_source
from scrm.services.events.sandbox import SimulatorArchiveSource
from tests.conftest import TEST_CORP_ID


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_offset_is_read_once_a_second_and_kept_when_redis_fails(redis_client):
    ticks = Ticks()
    offset = sandbox_clock.RedisClockOffset(redis_client, monotonic=ticks)
    assert offset() == timedelta(0)
    redis_client.set(sandbox_clock.KEY, 86400)
    assert offset() == timedelta(0)           # cached
    ticks.now += sandbox_clock.CACHE_SECONDS
    assert offset() == timedelta(days=1)
    redis_client.set(sandbox_clock.KEY, "garbage")
    assert offset.refresh() == timedelta(0)   # not an offset: none

    offset.set(2 * 86400)
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    down = sandbox_clock.RedisClockOffset(unreachable, monotonic=ticks)
    down._value = timedelta(days=2)
    assert down.refresh() == timedelta(days=2)  # unreachable: the last value, never back to zero
    ticks.now += sandbox_clock.CACHE_SECONDS
    assert down() == timedelta(days=2)          # and no new attempt (each would wait for the timeout)…
    ticks.now += sandbox_clock.RETRY_AFTER_FAILURE
    down._client = redis_client
    redis_client.set(sandbox_clock.KEY, 3 * 86400)
    assert down() == timedelta(days=3)          # …until a while later
    assert sandbox_clock.parse_offset(b"-5") is None and sandbox_clock.parse_offset(str(10**12)) is None


class CountingRedis:
    """A Redis client that counts GETs and can hold one until released."""

    def __init__(self, client):
        self.client, self.gets = client, 0
        self.reading, self.release = threading.Event(), threading.Event()

    def get(self, key):
        self.gets += 1
        self.reading.set()
        self.release.wait(5)
        return self.client.get(key)


def test_when_the_offset_is_due_one_thread_reads_it_and_the_others_keep_the_last_value(redis_client):
    ticks = Ticks()
    counting = CountingRedis(redis_client)
    counting.release.set()
    offset = sandbox_clock.RedisClockOffset(counting, monotonic=ticks)
    redis_client.set(sandbox_clock.KEY, 86400)
    assert offset() == timedelta(days=1) and counting.gets == 1
    redis_client.set(sandbox_clock.KEY, 2 * 86400)
    ticks.now += sandbox_clock.CACHE_SECONDS
    counting.release.clear()
    counting.reading.clear()
    reader = ThreadPoolExecutor(1).submit(offset)
    assert counting.reading.wait(5)                                   # a thread is reading Redis…
    others = [offset() for _ in range(20)]
    assert others == [timedelta(days=1)] * 20 and counting.gets == 2  # …the others did not queue to read it too
    counting.release.set()
    assert reader.result(5) == timedelta(days=2)
    assert offset() == timedelta(days=2) and counting.gets == 2       # the new value, cached again


def test_create_app_installs_the_clock_and_the_archive_source_in_sandbox_mode_only(app, redis_client):
    assert clock._offset is None and isinstance(archive_source(TEST_CORP_ID), NoArchiveSource)
    try:
        sandboxed = create_app({"TESTING": True, "SANDBOX": True})
        source = archive_source(TEST_CORP_ID)
        assert isinstance(source, SimulatorArchiveSource) and source.url == "http://wecom.test/sandbox/api/chat-archive"
        redis_client.set(sandbox_clock.KEY, 31 * 86400)
        wall = datetime.now(UTC).replace(tzinfo=None)
        ahead = clock.utcnow() - wall
        assert timedelta(days=31) <= ahead < timedelta(days=31, minutes=1)
        clock.freeze(datetime(2026, 1, 1))
        assert clock.utcnow() == datetime(2026, 1, 1)  # `tick --now` names an absolute time
        clock.freeze(None)

        create_app({"TESTING": True})             # a real deployment's app: no offset
        assert clock._offset is None and sandbox_clock.installed() is None
        assert abs(clock.utcnow() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
        assert sandboxed.extensions["scrm.settings"].sandbox
    finally:
        clock.use_offset(None)
        set_archive_source(None, corp_id=TEST_CORP_ID)
