"""The one retry policy: which WeCom failures are worth retrying, and how long to wait.

Which (docs/wecom-client.md "Errors and retries"):
* ``RETRYABLE_ERRCODES``: -1 (system busy), 45009 (frequency limit), 45033 (too many concurrent
  calls), 41096 (another app is sending the welcome message), 41063 (mass message still being
  dispatched). Every other errcode is permanent: retrying the same request will not help.
* Transport failures (no answer, timeout, HTTP 5xx or 429, a body that is not JSON) are
  retryable; a request that cannot be built (bad URL or header) is not.

How long, by where the retry happens:
* Inside one job (a sync run): ``call_with_backoff`` waits ``BACKOFF[errcode]`` in turn: a minute
  per attempt for 45009 (the ban lasts as long as its window), a short exponential wait for
  45033, at most 3 retries for -1 (as the docs advise), exponential for transport errors.
* A job enqueued again later (an inbox event): ``job_delay(attempt)``, 5 s doubling up to 5 min,
  at most ``MAX_JOB_ATTEMPTS`` attempts; an event a handler knows WeCom is still catching up on
  (84061 right after an add) waits ``CATCH_UP_DELAY``.
* The welcome message: ``WELCOME_RETRY_DELAY``, and only while its 20 s window is still open.
* An SOP mass send: ``TASK_MAX_ATTEMPTS`` attempts; a task WeCom is still dispatching (41063) is
  checked again after ``DISPATCHING_RECHECK``.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from .errors import PermanentWeComError, RetryableWeComError, WeComError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_ERRCODES: frozenset[int] = frozenset({-1, 45009, 45033, 41096, 41063})

# errcode (None: transport) -> the waits between attempts, in seconds.
BACKOFF: dict[int | None, tuple[float, ...]] = {
    45009: (60.0,) * 10,
    45033: (2.0, 4.0, 8.0, 16.0, 30.0),
    -1: (1.0, 2.0, 4.0),
}
DEFAULT_BACKOFF = (2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
SLEEP_SLICE = 30.0  # long waits are cut into slices, so the caller can report it is alive

MAX_JOB_ATTEMPTS = 8
CATCH_UP_DELAY = 5.0  # s
WELCOME_RETRY_DELAY = 1.0  # s
TASK_MAX_ATTEMPTS = 5
DISPATCHING_RECHECK = timedelta(minutes=1)


def transport_retryable(http_status: int | None) -> bool:
    """An HTTP failure without a WeCom errcode: no answer, 5xx and 429 are worth retrying."""
    return http_status is None or http_status >= 500 or http_status == 429


def error_for(api: str, errcode: int | None, errmsg: str, *, retryable: bool | None = None) -> WeComError:
    """The right WeComError subclass for an errcode; ``retryable`` decides for transport errors."""
    if retryable is None:
        retryable = errcode in RETRYABLE_ERRCODES
    return (RetryableWeComError if retryable else PermanentWeComError)(errcode, errmsg, api)


def job_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1`` of a job that failed transiently (attempt >= 1)."""
    return min(300, 5 * 2 ** (attempt - 1))


def call_with_backoff(fn: Callable[..., T], *args: Any, sleep: Callable[[float], Any],
                      on_wait: Callable[[], None] | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, retried on retryable WeCom errors as BACKOFF says; a retryable
    error that outlasts its schedule is raised, a permanent one at once. ``on_wait`` is called
    after each slice of a wait (a heartbeat)."""
    attempts: Counter[int | None] = Counter()
    while True:
        try:
            return fn(*args, **kwargs)
        except RetryableWeComError as exc:
            schedule = BACKOFF.get(exc.errcode, DEFAULT_BACKOFF)
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
