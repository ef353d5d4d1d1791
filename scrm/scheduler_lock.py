"""One scheduler per deployment: `flask scrm scheduler` holds a Redis lease lock while it runs.

The lock is a LeaseLock (scrm/wecom/lease_lock.py): a short lease renewed every third of it by
a thread of the holder. Its value names the holder (``pid@host/random``) and its remaining TTL
tells when the holder last renewed it, which is the scheduler's heartbeat that
`flask scrm status` shows. A second scheduler started by mistake finds the lock held and refuses
to run; if the holder dies, the lock lapses within one lease and a new scheduler can start.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis as redis_lib

from scrm.wecom.lease_lock import LeaseLock

LOCK_KEY = "scrm:scheduler:lock"
LEASE_SECONDS = 15.0  # renewed every 5 s; a dead scheduler is replaceable after at most 15 s


@dataclass(frozen=True)
class Holder:
    """The scheduler holding the lock, as its lock key says."""

    pid: int | None
    host: str
    heartbeat_age: float  # seconds since it last renewed the lease

    def describe(self) -> str:
        pid = self.pid if self.pid is not None else "?"
        return f"pid {pid} on host {self.host}, heartbeat {self.heartbeat_age:.0f}s ago"


class SchedulerAlreadyRunning(Exception):
    def __init__(self, holder: Holder | None) -> None:
        self.holder = holder
        super().__init__("another scheduler is running"
                         + (f" ({holder.describe()})" if holder else ""))


def _parse(token: str) -> tuple[int | None, str]:
    who = token.rsplit("/", 1)[0]
    pid, _, host = who.partition("@")
    return (int(pid) if pid.isdigit() else None), (host or "?")


def holder(redis: redis_lib.Redis) -> Holder | None:
    """The running scheduler, or None when no scheduler holds the lock."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.get(LOCK_KEY)
        pipe.pttl(LOCK_KEY)
        value, pttl = pipe.execute()
    if value is None:
        return None
    pid, host = _parse(value.decode(errors="replace"))
    age = max(0.0, LEASE_SECONDS - pttl / 1000) if pttl and pttl > 0 else 0.0
    return Holder(pid, host, round(age, 1))


def acquire(redis: redis_lib.Redis, on_lost: Callable[[], None] | None = None) -> LeaseLock:
    """Take the scheduler lock (one try), or raise SchedulerAlreadyRunning naming the holder."""
    token = f"{os.getpid()}@{socket.gethostname()}/{uuid.uuid4().hex}"
    lock = LeaseLock(redis, LOCK_KEY, wait=0, lease=LEASE_SECONDS, token=token, on_lost=on_lost)
    if lock.acquire():
        return lock
    raise SchedulerAlreadyRunning(holder(redis))
