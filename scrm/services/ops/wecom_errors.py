"""WeCom API calls and errors over time for one corp: the per-minute counters the WeCom client
keeps (scrm/wecom/callstats.py, kept a day), summed into steps for a chart and per API."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis as redis_lib

from scrm.queueing import redis_connection
from scrm.wecom import callstats

STEPS = (1, 5, 10, 15, 30, 60)  # minutes per point
MAX_POINTS = 120


@dataclass(frozen=True)
class ErrorPoint:
    at: datetime  # the step's first minute (naive UTC)
    calls: int
    errors: int


@dataclass
class ApiErrors:
    api: str
    calls: int = 0
    errors: int = 0
    errcodes: dict[str, int] = field(default_factory=dict)  # "http": no JSON answer at all


@dataclass(frozen=True)
class ErrorSeries:
    minutes: int
    step_minutes: int
    calls: int
    errors: int
    points: list[ErrorPoint]
    apis: list[ApiErrors]  # the most errors first


def step_for(minutes: int) -> int:
    return next((step for step in STEPS if minutes / step <= MAX_POINTS), STEPS[-1])


def wecom_errors(corp_id: str, minutes: int = 60, api: str | None = None, *,
                 connection: redis_lib.Redis | None = None, now: Callable[[], float] = time.time) -> ErrorSeries:
    """Calls and errors of the last ``minutes`` (1..1440) calendar minutes, in steps of
    step_for(minutes) minutes, for every API or only ``api``."""
    connection = connection or redis_connection()
    minutes = max(1, min(minutes, callstats.RETENTION_MINUTES))
    step = step_for(minutes)
    buckets = callstats.minute_buckets(connection, corp_id, minutes=minutes, now=now)
    points: dict[int, list[int]] = {}
    apis: dict[str, ApiErrors] = {}
    for minute, per_api in buckets:
        point = points.setdefault(minute - minute % step, [0, 0])
        for name, stats in per_api.items():
            if api and name != api:
                continue
            point[0] += stats.calls
            point[1] += stats.errors
            line = apis.setdefault(name, ApiErrors(name))
            line.calls += stats.calls
            line.errors += stats.errors
            for errcode, count in stats.errcodes.items():
                line.errcodes[errcode] = line.errcodes.get(errcode, 0) + count
    series = [ErrorPoint(datetime.fromtimestamp(start * 60, UTC).replace(tzinfo=None), calls, errors)
              for start, (calls, errors) in sorted(points.items())]
    ordered = sorted(apis.values(), key=lambda line: (-line.errors, -line.calls, line.api))
    for line in ordered:
        line.errcodes = dict(sorted(line.errcodes.items()))
    return ErrorSeries(minutes, step, sum(p.calls for p in series), sum(p.errors for p in series), series, ordered)
