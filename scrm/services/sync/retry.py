"""Backoff for WeCom's "try again later" answers (PROTOCOL.md §3.9), with an injectable sleep.

45009 (frequency limit): the ban lasts as long as the window it guards, so wait a minute per
attempt. 45033 (too many concurrent calls): a short exponential wait. -1 (system busy): at most 3
retries, as the docs advise. Transport errors (timeouts, HTTP 5xx): exponential. A retryable
error that outlasts its schedule is raised to the caller; permanent errors are raised at once.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from scrm.wecom import RetryableWeComError

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEDULES: dict[int | None, tuple[float, ...]] = {
    45009: (60.0,) * 10,
    45033: (2.0, 4.0, 8.0, 16.0, 30.0),
    -1: (1.0, 2.0, 4.0),
}
DEFAULT_SCHEDULE = (2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
SLEEP_SLICE = 30.0  # long waits are cut into slices, so the caller can report it is alive


def call_with_backoff(fn: Callable[..., T], *args: Any, sleep: Callable[[float], Any],
                      on_wait: Callable[[], None] | None = None, **kwargs: Any) -> T:
    attempts: Counter[int | None] = Counter()
    while True:
        try:
            return fn(*args, **kwargs)
        except RetryableWeComError as exc:
            schedule = SCHEDULES.get(exc.errcode, DEFAULT_SCHEDULE)
            attempt = attempts[exc.errcode]
            if attempt >= len(schedule):
                raise
            attempts[exc.errcode] += 1
            delay = schedule[attempt]
            log.warning("%s; retry %d/%d in %.0f s", exc, attempt + 1, len(schedule), delay)
            while delay > 0:
                step = min(delay, SLEEP_SLICE)
                sleep(step)
                delay -= step
                if on_wait is not None:
                    on_wait()
