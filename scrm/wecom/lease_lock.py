"""A Redis lock that a process holds only while it is alive.

The lock key expires after a short lease (5 s); a thread of the holder renews it every third
of the lease until it is released. A holder that dies (SIGKILL, OOM, power) stops renewing,
so the others wait at most one lease for it, instead of the whole time the work could take.

The key's value is the holder's token (random unless given: the scheduler puts its pid and
host in it), and its remaining TTL tells how long ago the holder last renewed it: a heartbeat.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis as redis_lib
from redis.exceptions import LockError

logger = logging.getLogger("scrm.wecom")

LEASE_SECONDS = 5.0


class LeaseLock:
    """``with LeaseLock(redis, name, wait=30) as acquired: ...`` (acquired: False after
    waiting ``wait`` seconds in vain)."""

    def __init__(self, redis: redis_lib.Redis, name: str, *, wait: float,
                 lease: float = LEASE_SECONDS, token: str | None = None,
                 on_lost: Callable[[], None] | None = None) -> None:
        """``wait`` 0: one try. ``on_lost`` is called (from the renewing thread) when the key
        turns out to be gone or another's: the lease ran out while Redis could not be reached."""
        # Not thread-local: the renewing thread must see the holder's token.
        self._lock = redis.lock(name, timeout=lease, blocking_timeout=wait, thread_local=False)
        self.lease = lease
        self._token = token
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self._lock.acquire(token=self._token):
            return False
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="lease-lock", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self._lock.reacquire()  # the key's TTL back to a whole lease
            except LockError as exc:  # lost it: the holder finds out on release, or from on_lost
                logger.warning("lease lock %s lost: %s", self._lock.name, type(exc).__name__)
                if self._on_lost is not None:
                    self._on_lost()
                return
            except redis_lib.RedisError as exc:  # unreachable for now; the lease may still be ours
                logger.warning("lease lock %s not renewed: %s", self._lock.name, type(exc).__name__)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._lock.release()
        except LockError:  # the lease ran out (Redis unreachable while we worked); nothing to undo
            pass

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        if self._renewer is not None:
            self.release()
