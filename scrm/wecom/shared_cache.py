"""The one cache of WeCom credentials (access tokens, JS-SDK tickets): Redis for every process,
and this process's copy in front of it.

A value lives in Redis (wechatpy's RedisStorage format, under ``scrm:wecom:<key>``) with the TTL
its fetcher gives, and is fetched under a Redis lease lock so N processes make one call. Each
process keeps a copy for at most LOCAL_TTL seconds and never past the Redis key's expiry (itself
ahead of WeCom's), so a WeCom call reads no Redis for its token; a value WeCom rejects (``stale``)
is dropped from the copy too. Redis stays the shared source: a copy is only ever made from it or
written beside it.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from cachetools import TLRUCache
from wechatpy.session.redisstorage import RedisStorage

from .lease_lock import LeaseLock
from .retry import error_for

LOCAL_TTL = 60.0  # s; the longest this process uses its copy of a value kept in Redis

# key -> (value, monotonic time the copy lapses), shared by every client in the process.
# cachetools caches are not thread-safe, hence the lock.
_local: TLRUCache[str, tuple[str, float]] = TLRUCache(maxsize=256, ttu=lambda _key, entry, _now: entry[1],
                                                      timer=time.monotonic)
_local_lock = threading.Lock()


def forget_local_copies() -> None:
    """Drop this process's copies (when Redis is emptied under it, as the tests do)."""
    with _local_lock:
        _local.clear()


def _keep(key: str, value: str, ttl: float) -> None:
    if ttl > 0:
        with _local_lock:
            _local[key] = (value, time.monotonic() + min(LOCAL_TTL, ttl))


def _local_value(key: str, stale: str | None) -> str | None:
    with _local_lock:
        entry = _local.get(key)
        if entry is None:
            return None
        if entry[0] == stale:
            del _local[key]
            return None
        return entry[0]


class SharedCache:
    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage
        self.redis = storage.redis

    def get(self, key: str, fetch: Callable[[], tuple[str, int]], *, api: str, wait: float,
            stale: str | None = None) -> str:
        """This process's copy, else the value in Redis, else ``fetch()`` → (value, TTL in s) it
        under a Redis lock, waiting up to ``wait`` s for another process's fetch (then a
        retryable error for ``api``).

        ``stale`` is a value WeCom just rejected: treat it as missing (and drop the copy), but if
        another process or thread has replaced it meanwhile, use the new one rather than fetching.
        """
        value = _local_value(key, stale)
        if value is None:
            value = self._shared_value(key, stale)
        if value is not None:
            return value
        # A short lease renewed while we fetch: if this process dies, others wait 5 s, not `wait`.
        with LeaseLock(self.redis, f"{self.storage.key_name(key)}:lock", wait=wait) as acquired:
            if not acquired:
                raise error_for(api, None, "timed out waiting for another process to refresh", retryable=True)
            value = self._shared_value(key, stale)
            if value is not None:
                return value
            value, ttl = fetch()
            self.storage.set(key, value, ttl)
            _keep(key, value, ttl)
            return value

    def _shared_value(self, key: str, stale: str | None) -> str | None:
        """The value in Redis unless it is ``stale``, copied for this process until its key
        expires (at most LOCAL_TTL): GET and PTTL in one round trip."""
        name = self.storage.key_name(key)
        with self.redis.pipeline() as pipe:
            raw, pttl = pipe.get(name).pttl(name).execute()
        value = json.loads(raw) if raw is not None else None  # RedisStorage keeps JSON
        if not value or value == stale:
            return None
        _keep(key, value, LOCAL_TTL if pttl == -1 else pttl / 1000)  # -1: no expiry; -2: just expired
        return value
