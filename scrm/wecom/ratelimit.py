"""Per-corp, per-API call budget shared by every process through Redis (docs/wecom-client.md "Rate limits").

WeCom allows 10,000 calls per minute and 150,000 per hour per corp and API, and answers 45009
(then bans the API for the rest of the window) beyond that. We keep under both with margin by
a GCRA ("generic cell rate algorithm", a token bucket stored as one timestamp per window): one
Redis key per (corp, API, window) holds the theoretical arrival time of the next call, and a
Lua script checks both windows and books the call atomically, so N workers share one budget.
The same script also counts the booked call for `flask scrm status` when given a ``tally``
(callstats.py), so a call costs the client one Redis round trip for both.

For a rate R per window W and a burst B, any interval of length W sees at most R + B calls.
The defaults (8,000/min + 400, 120,000/h + 20,000) stay at 84 % and 93 % of WeCom's limits.

A call that would exceed the budget waits (``sleep``) until it fits; one that would wait longer
than ``max_wait`` raises a RetryableWeComError(45009) at once, so a latency-bound caller (a
callback job) retries later instead of blocking a worker. Redis trouble never blocks a call:
the limiter then lets it through (and logs), since WeCom's own limit still protects WeCom.

Some APIs also have a budget per staff member: ``message/send`` allows 30 messages a minute and
1,000 an hour per app and member, and WeCom silently drops the excess (docs 90454, 90236). For
those, ``member_allows`` counts calls per member in fixed windows (the calendar minute and hour)
and answers False, booking nothing, when a window is full: the caller leaves the work for a
later run rather than waiting, since a reminder can be sent a minute later.

The same fixed-window counting (``WindowCounter``) is the one limiter for anything else counted
per subject, e.g. the console's failed sign-ins per username and per address
(scrm/services/console/throttle.py): ``count`` books one event unless a window is full, and
``retry_after`` says how long until every full window has ended.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis as redis_lib

from .callstats import Tally
from .errors import RetryableWeComError

log = logging.getLogger("scrm.wecom")

KEY_PREFIX = "scrm:wecom:rate"

# KEYS: one per window, then optionally a hash to count the booked call in (callstats.py).
# ARGV: now, the number of windows, (interval, tolerance) per window, all in seconds; then, with
# the hash, its field and TTL. Returns 0 when the call is booked (and counted), else the seconds
# to wait before it would fit (nothing booked, nothing counted).
_GCRA = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local wait = 0
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local tolerance = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local fits_at = tat + interval - tolerance
  if fits_at - now > wait then wait = fits_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return tostring(wait) end
for i = 1, n do
  local tolerance = tonumber(ARGV[2 + 2 * i])
  redis.call('SET', KEYS[i], tostring(tats[i]), 'PX', math.ceil((tats[i] - now + tolerance) * 1000) + 1000)
end
if #KEYS > n then
  redis.call('HINCRBY', KEYS[n + 1], ARGV[3 + 2 * n], 1)
  redis.call('EXPIRE', KEYS[n + 1], tonumber(ARGV[4 + 2 * n]))
end
return '0'
"""


# Fixed windows: KEYS one counter per window, ARGV the limits in the same order and the TTL.
# Returns 1 and counts the call when every window has room, else 0 (nothing counted).
_COUNT = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, tonumber(ARGV[#KEYS + i]))
end
return 1
"""

# api -> ((window seconds, calls per window), ...) per staff member (docs 90454: excess is dropped).
MEMBER_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    "message/send": ((60, 30), (3600, 1000)),
}


@dataclass(frozen=True)
class Window:
    name: str
    seconds: int
    calls: int  # budget per window
    burst: int  # calls allowed at once above the steady rate

    @property
    def interval(self) -> float:
        return self.seconds / self.calls


def default_windows(per_minute: int = 8_000, per_hour: int = 120_000) -> tuple[Window, ...]:
    return (Window("m", 60, per_minute, max(1, per_minute // 20)),
            Window("h", 3600, per_hour, max(1, per_hour // 6)))


class RateLimiter:
    def __init__(self, redis: redis_lib.Redis, corp_id: str, windows: tuple[Window, ...] | None = None, *,
                 max_wait: float = 30.0, now: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.redis = redis
        self.corp_id = corp_id
        self.windows = windows or default_windows()
        self.max_wait = max_wait
        self.now = now
        self.sleep = sleep
        self._script = redis.register_script(_GCRA)
        self._count = redis.register_script(_COUNT)

    def keys(self, api: str) -> list[str]:
        return [f"{KEY_PREFIX}:{self.corp_id}:{api}:{window.name}" for window in self.windows]

    def acquire(self, api: str, *, tally: Tally | None = None) -> float:
        """Book one call of ``api`` (a path such as "externalcontact/groupchat/get"), waiting
        for room if needed. Returns the seconds waited. With ``tally``, the booked call is also
        counted in that hash (callstats.tally()) by the same script: one round trip for both."""
        waited = 0.0
        args: list[float | str] = [len(self.windows)]
        for window in self.windows:
            args += [window.interval, window.interval * window.burst]
        keys = self.keys(api)
        if tally is not None:
            keys.append(tally.key)
            args += [tally.field, tally.ttl]
        while True:
            try:
                wait = float(self._script(keys=keys, args=[self.now(), *args]))
            except redis_lib.RedisError as exc:
                log.warning("rate limiter unavailable, calling %s unthrottled: %s", api, exc)
                return waited
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait:
                raise RetryableWeComError(45009, f"local rate limit: {api} would wait {wait:.1f} s", api)
            self.sleep(wait)
            waited += wait

    def burst_left(self, apis: list[str]) -> dict[str, dict[str, float]]:
        """api → window name → the share of the window's burst still free (read only, nothing
        booked): 1.0 while calls keep to the steady rate, falling as they run ahead of it, 0.0
        when a call would have to wait. An API whose keys are gone (idle) is at 1.0."""
        if not apis:
            return {}
        now = self.now()
        tats = self.redis.mget([key for api in apis for key in self.keys(api)])
        result: dict[str, dict[str, float]] = {}
        for i, api in enumerate(apis):
            result[api] = {}
            for j, window in enumerate(self.windows):
                raw = tats[i * len(self.windows) + j]
                ahead = max(0.0, float(raw) - now) if raw is not None else 0.0
                # A call fits while ahead <= tolerance - interval (the _GCRA script's test).
                room = window.interval * window.burst - window.interval
                result[api][window.name] = round(max(0.0, min(1.0, 1 - ahead / room)) if room > 0 else
                                                 float(ahead == 0.0), 4)
        return result

    def member_allows(self, api: str, userid: str, *, at: float | None = None) -> bool:
        """Count one call of ``api`` for staff member ``userid`` against MEMBER_LIMITS; False
        (nothing counted) when a window is full. ``at``: the time, default ``now()``."""
        limits = MEMBER_LIMITS.get(api)
        if not limits:
            return True
        counter = WindowCounter(self.redis, f"{KEY_PREFIX}:{self.corp_id}:{api}:member", limits, script=self._count)
        try:
            return counter.count(userid, self.now() if at is None else at)
        except redis_lib.RedisError as exc:
            log.warning("rate limiter unavailable, %s unthrottled per member: %s", api, exc)
            return True


class WindowCounter:
    """Events per subject in fixed windows shared through Redis. ``limits``: (window seconds,
    events per window), e.g. ((60, 30), (3600, 1000)); windows are aligned to the epoch (the
    calendar minute, hour, quarter hour). Redis errors are the caller's to handle."""

    def __init__(self, redis: redis_lib.Redis, prefix: str, limits: tuple[tuple[int, int], ...], *,
                 script=None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = limits
        self._count = script or redis.register_script(_COUNT)

    def keys(self, subject: str, at: float) -> list[str]:
        return [f"{self.prefix}:{subject}:{seconds}:{int(at // seconds)}" for seconds, _ in self.limits]

    def count(self, subject: str, at: float) -> bool:
        """Book one event at time ``at``; False (nothing booked) when a window is already full."""
        args = [events for _, events in self.limits] + [2 * seconds for seconds, _ in self.limits]
        return bool(self._count(keys=self.keys(subject, at), args=args))

    def retry_after(self, subject: str, at: float) -> float:
        """Seconds from ``at`` until no window of ``subject`` is full; 0 when none is."""
        counts = self.redis.mget(self.keys(subject, at))
        wait = 0.0
        for (seconds, events), raw in zip(self.limits, counts, strict=True):
            if raw is not None and int(raw) >= events:
                wait = max(wait, (int(at // seconds) + 1) * seconds - at)
        return wait
