"""The sandbox's 「时间快进」: the service's clock runs ahead of the wall clock by an offset.

Sandbox mode only. The simulator's ``advance_time`` action moves its own clock and tells the
service with a sandbox-only callback (``Event=sandbox_clock``, ``OffsetSeconds`` = the total
offset; scrm/services/events/sandbox_clock.py), whose handler stores the offset in Redis under
``KEY``. Every process of the stack (web, workers, scheduler, `flask` commands) reads it through
``RedisClockOffset``, installed into scrm.clock by create_app() in sandbox mode only, so they all
move together. The value is cached for a second per process: utcnow() is called often; when it is due again, one
thread reads it while the others go on with the value they have.

The key is durable as the rest of the stack's Redis is (`make run`'s embedded Redis persists).
Outside sandbox mode nothing is installed: utcnow() reads the wall clock and nothing else.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from flask import Flask

from scrm import clock
from scrm.config import settings

log = logging.getLogger(__name__)

KEY = "scrm:sandbox:clock-offset"  # seconds the sandbox's clock runs ahead of the wall clock
CACHE_SECONDS = 1.0
RETRY_AFTER_FAILURE = 10.0  # s before reading again after Redis failed
MAX_OFFSET_SECONDS = 10 * 366 * 86400  # ten years: anything larger is a mistake, refused


class RedisClockOffset:
    """The offset in Redis, read at most once a second per process (a failed read keeps the last
    value: Redis being down must not move the clock back)."""

    def __init__(self, client: redis.Redis, monotonic: Callable[[], float] = time.monotonic):
        self._client = client
        self._monotonic = monotonic
        self._value = timedelta(0)
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> timedelta:
        read_at = self._read_at
        if read_at is not None and self._monotonic() - read_at < CACHE_SECONDS:
            return self._value
        if read_at is None:
            return self.refresh()  # the first read: every caller waits for it
        if not self._lock.acquire(blocking=False):
            return self._value  # another thread is reading it (not a queue of threads each reading it again)
        try:
            return self._read()
        finally:
            self._lock.release()

    def refresh(self) -> timedelta:
        """Read the offset now (a worker about to act on a jump it was told of calls this)."""
        with self._lock:
            return self._read()

    def _read(self) -> timedelta:
        """Read Redis; called holding the lock."""
        try:
            raw = self._client.get(KEY)
        except redis.RedisError as exc:
            log.warning("sandbox clock offset unreadable, keeping %s: %s", self._value, type(exc).__name__)
            # Not again for a while: every utcnow() would wait out the connection timeout.
            self._read_at = self._monotonic() + RETRY_AFTER_FAILURE - CACHE_SECONDS
            return self._value
        self._value = timedelta(seconds=parse_offset(raw) or 0)
        self._read_at = self._monotonic()
        return self._value

    def set(self, seconds: int) -> None:
        with self._lock:
            self._client.set(KEY, int(seconds))
            self._value = timedelta(seconds=int(seconds))
            self._read_at = self._monotonic()


def parse_offset(raw: bytes | str | int | None) -> int | None:
    """Whole seconds in 0..MAX_OFFSET_SECONDS, else None."""
    try:
        value = int(raw.decode() if isinstance(raw, bytes) else raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= MAX_OFFSET_SECONDS else None


_installed: RedisClockOffset | None = None


def install(app: Flask) -> None:
    """In sandbox mode, run scrm.clock ahead by the offset in the app's Redis; otherwise make
    sure no offset applies (create_app() calls this for every app)."""
    global _installed
    _installed = RedisClockOffset(app.extensions["redis"]) if settings(app).sandbox else None
    clock.use_offset(_installed)


def installed() -> RedisClockOffset | None:
    return _installed


def set_offset(seconds: int) -> None:
    """Store the total offset (the handler of the simulator's clock callback). RuntimeError
    outside sandbox mode."""
    if _installed is None:
        raise RuntimeError("the clock offset applies in sandbox mode only")
    _installed.set(seconds)


def refresh() -> timedelta:
    """Re-read the offset now; zero outside sandbox mode."""
    return _installed.refresh() if _installed is not None else timedelta(0)
