"""The one retry policy (scrm/wecom/retry.py): which errors are retried, and the waits."""
from __future__ import annotations

import pytest

from scrm.wecom import PermanentWeComError, RetryableWeComError
from scrm.wecom.retry import (
    RETRYABLE_ERRCODES,
    call_with_backoff,
    error_for,
    job_delay,
    transport_retryable,
)


@pytest.mark.parametrize("errcode", [-1, 45009, 45033, 41096, 41063])
def test_transient_errcodes_are_retryable(errcode):
    assert errcode in RETRYABLE_ERRCODES
    assert isinstance(error_for("x", errcode, "busy"), RetryableWeComError)


@pytest.mark.parametrize("errcode", [40001, 41050, 41051, 60020, 84061, 0, None])
def test_other_errcodes_are_permanent(errcode):
    error = error_for("x", errcode, "no")
    assert isinstance(error, PermanentWeComError) and not error.retryable


@pytest.mark.parametrize("status, retryable", [(None, True), (500, True), (502, True), (429, True),
                                               (400, False), (404, False), (403, False)])
def test_transport_failures(status, retryable):
    assert transport_retryable(status) is retryable


def test_job_delay_doubles_from_5_s_up_to_5_min():
    assert [job_delay(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


def failing(*errcodes):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errcodes):
            raise error_for("api", errcodes[len(calls) - 1], "busy")
        return "ok"
    return fn, calls


def test_backoff_waits_by_errcode_and_beats_while_waiting():
    slept, beats = [], []
    fn, calls = failing(45033, 45009, -1)
    assert call_with_backoff(fn, sleep=slept.append, on_wait=lambda: beats.append(1)) == "ok"
    assert slept == [2.0, 30.0, 30.0, 1.0]  # 45009's minute is cut into slices, one beat each
    assert len(beats) == 4 and len(calls) == 4


def test_system_busy_is_retried_three_times_then_raised():
    slept = []
    fn, calls = failing(-1, -1, -1, -1)
    with pytest.raises(RetryableWeComError):
        call_with_backoff(fn, sleep=slept.append)
    assert slept == [1.0, 2.0, 4.0] and len(calls) == 4


def test_a_permanent_error_is_raised_at_once():
    slept = []
    fn, calls = failing(41050)
    with pytest.raises(PermanentWeComError):
        call_with_backoff(fn, sleep=slept.append)
    assert slept == [] and len(calls) == 1
