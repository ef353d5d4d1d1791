"""WeCom API calls and errors per corp, API and minute, counted in Redis for `flask scrm status`.

One Redis hash per corp and calendar minute (``scrm:wecom:calls:<corp>:<minute>``) holds a
counter per API (``c|externalcontact/get``) and one per API and errcode that failed
(``e|externalcontact/get|41050``; ``http`` when WeCom never answered with JSON). A call the rate
limiter books is counted by the limiter's own script (``tally()`` names the field; one round
trip for both), and only a failure is recorded after it; any other exchange (gettoken, the
retry after a token error, a client without a limiter) is recorded in one pipelined round trip
(HINCRBY, HINCRBY, EXPIRE). The hashes expire a little after a day (the operations page charts
errors per minute over up to 24 hours), so there is nothing to clean up. Reading the last hour
is one pipeline of 60 HGETALLs.

Counting never gets in the way of a call: a Redis error is swallowed (and logged at debug).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis as redis_lib

log = logging.getLogger("scrm.wecom")

KEY_PREFIX = "scrm:wecom:calls"
WINDOW_MINUTES = 60
RETENTION_MINUTES = 24 * 60  # the longest range minute_buckets() reads
TTL_SECONDS = (RETENTION_MINUTES + 2) * 60  # the oldest bucket read is 1439 minutes old
TRANSPORT = "http"  # the errcode field for failures without one (timeout, HTTP status, bad JSON)


def bucket_key(corp_id: str, minute: int) -> str:
    return f"{KEY_PREFIX}:{corp_id}:{minute}"


@dataclass(frozen=True)
class Tally:
    """The hash field one call of an API is counted in (for a script that counts it)."""

    key: str
    field: str
    ttl: int


def tally(corp_id: str, api: str, *, now: Callable[[], float] = time.time) -> Tally:
    """Where a call of ``api`` made now is counted (RateLimiter.acquire(tally=...) counts it)."""
    return Tally(bucket_key(corp_id, int(now() // 60)), f"c|{api}", TTL_SECONDS)


def record(redis: redis_lib.Redis, corp_id: str, api: str, *, failed: bool = False,
           errcode: int | None = None, counted: bool = False, now: Callable[[], float] = time.time) -> None:
    """Count one HTTP exchange with WeCom (and, when ``failed``, its errcode); ``counted``: the
    exchange itself was already counted (through ``tally()``), so only a failure is recorded."""
    if counted and not failed:
        return
    key = bucket_key(corp_id, int(now() // 60))
    try:
        with redis.pipeline(transaction=False) as pipe:
            if not counted:
                pipe.hincrby(key, f"c|{api}", 1)
            if failed:
                pipe.hincrby(key, f"e|{api}|{TRANSPORT if errcode is None else errcode}", 1)
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
    except redis_lib.RedisError as exc:
        log.debug("wecom call not counted: %s", type(exc).__name__)


@dataclass
class ApiCalls:
    """One API's calls in the window: total, failed, failures per errcode, busiest minute."""

    calls: int = 0
    errors: int = 0
    errcodes: dict[str, int] = field(default_factory=dict)
    peak_minute: int = 0


def minute_buckets(redis: redis_lib.Redis, corp_id: str, *, minutes: int = WINDOW_MINUTES,
                   now: Callable[[], float] = time.time) -> list[tuple[int, dict[str, ApiCalls]]]:
    """(minute since the epoch, api → ApiCalls) for each of the last ``minutes`` calendar
    minutes (at most RETENTION_MINUTES), oldest first, this one included."""
    current = int(now() // 60)
    minutes = max(1, min(minutes, RETENTION_MINUTES))
    span = range(current - minutes + 1, current + 1)
    with redis.pipeline(transaction=False) as pipe:
        for minute in span:
            pipe.hgetall(bucket_key(corp_id, minute))
        buckets = pipe.execute()
    return [(minute, _parse(bucket)) for minute, bucket in zip(span, buckets, strict=True)]


def _parse(bucket: dict) -> dict[str, ApiCalls]:
    result: dict[str, ApiCalls] = {}
    for raw_name, raw_count in bucket.items():
        kind, _, rest = raw_name.decode().partition("|")
        count = int(raw_count)
        if kind == "c":
            stats = result.setdefault(rest, ApiCalls())
            stats.calls += count
            stats.peak_minute = max(stats.peak_minute, count)
        elif kind == "e":
            api, _, errcode = rest.rpartition("|")
            stats = result.setdefault(api, ApiCalls())
            stats.errors += count
            stats.errcodes[errcode] = stats.errcodes.get(errcode, 0) + count
    return result


def last_hour(redis: redis_lib.Redis, corp_id: str, *, minutes: int = WINDOW_MINUTES,
              now: Callable[[], float] = time.time) -> dict[str, ApiCalls]:
    """api → ApiCalls over the last ``minutes`` calendar minutes, this one included."""
    result: dict[str, ApiCalls] = {}
    for _, bucket in minute_buckets(redis, corp_id, minutes=minutes, now=now):
        for api, minute in bucket.items():
            stats = result.setdefault(api, ApiCalls())
            stats.calls += minute.calls
            stats.errors += minute.errors
            stats.peak_minute = max(stats.peak_minute, minute.calls)
            for errcode, count in minute.errcodes.items():
                stats.errcodes[errcode] = stats.errcodes.get(errcode, 0) + count
    return dict(sorted(result.items()))
