"""WeCom calls and errors in the last hour per corp and API (scrm/wecom/callstats.py), and how
much of the corp's call budget is left (the configured budget vs those counts, and the rate
limiter's own state, scrm/wecom/ratelimit.py)."""
from __future__ import annotations

from dataclasses import dataclass

import redis as redis_lib

from scrm.config import settings
from scrm.queueing import redis_connection
from scrm.wecom import callstats
from scrm.wecom.ratelimit import RateLimiter, default_windows


@dataclass(frozen=True)
class ApiLine:
    api: str
    calls: int
    errors: int
    errcodes: dict[str, int]  # failures per WeCom errcode ("http": no JSON answer at all)
    peak_minute: int  # calls in the busiest calendar minute of the hour


@dataclass(frozen=True)
class RateBudget:
    per_minute: int  # the configured budget per API (SCRM_WECOM_RATE_PER_MINUTE)
    per_hour: int
    peak_minute_calls: int  # the busiest API's busiest minute in the last hour
    hour_calls: int  # the busiest API's calls in the last hour
    headroom: float  # 1 - the larger of peak_minute_calls/per_minute and hour_calls/per_hour
    burst_left: float  # the limiter's state: the least burst left of any API and window (0: calls wait)
    throttled_apis: list[str]  # APIs whose next call would wait for room right now


@dataclass(frozen=True)
class CorpCalls:
    calls: int
    errors: int
    apis: list[ApiLine]
    rate_budget: RateBudget


def corp_calls(corp_id: str, connection: redis_lib.Redis | None = None) -> CorpCalls:
    connection = connection or redis_connection()
    cfg = settings()
    per_api = callstats.last_hour(connection, corp_id)
    apis = [ApiLine(api, s.calls, s.errors, dict(sorted(s.errcodes.items())), s.peak_minute)
            for api, s in per_api.items()]
    limiter = RateLimiter(connection, corp_id, default_windows(cfg.wecom_rate_per_minute, cfg.wecom_rate_per_hour))
    burst = limiter.burst_left([line.api for line in apis])
    peak = max((line.peak_minute for line in apis), default=0)
    hour = max((line.calls for line in apis), default=0)
    used = max(peak / cfg.wecom_rate_per_minute, hour / cfg.wecom_rate_per_hour)
    budget = RateBudget(
        per_minute=cfg.wecom_rate_per_minute, per_hour=cfg.wecom_rate_per_hour,
        peak_minute_calls=peak, hour_calls=hour, headroom=round(max(0.0, 1 - used), 4),
        burst_left=min((left for windows in burst.values() for left in windows.values()), default=1.0),
        throttled_apis=sorted(api for api, windows in burst.items() if min(windows.values()) <= 0))
    return CorpCalls(sum(line.calls for line in apis), sum(line.errors for line in apis), apis, budget)
