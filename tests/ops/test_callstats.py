"""The WeCom call counters (scrm/wecom/callstats.py) and the rate limiter's burst read-out."""
from __future__ import annotations

from scrm.wecom import callstats
from scrm.wecom.ratelimit import RateLimiter, Window

CORP = "wwcorp"


def test_calls_and_errors_are_counted_per_api_minute_and_errcode(redis_client):
    minute = 29_000_000
    at = {"now": minute * 60 + 5.0}

    def now() -> float:
        return at["now"]

    for _ in range(3):
        callstats.record(redis_client, CORP, "externalcontact/get", now=now)
    callstats.record(redis_client, CORP, "externalcontact/get", failed=True, errcode=84061, now=now)
    at["now"] += 60  # the next minute
    callstats.record(redis_client, CORP, "externalcontact/get", failed=True, errcode=None, now=now)
    callstats.record(redis_client, CORP, "message/send", now=now)
    callstats.record(redis_client, "wwother", "message/send", now=now)

    stats = callstats.last_hour(redis_client, CORP, now=now)
    assert list(stats) == ["externalcontact/get", "message/send"]
    contact = stats["externalcontact/get"]
    assert (contact.calls, contact.errors, contact.peak_minute) == (5, 2, 4)
    assert contact.errcodes == {"84061": 1, "http": 1}
    assert stats["message/send"].calls == 1
    # Each minute's hash expires on its own, a little after the hour it is read for.
    ttl = redis_client.ttl(callstats.bucket_key(CORP, minute))
    assert 3600 < ttl <= callstats.TTL_SECONDS
    # An hour later the first minute is out of the window.
    at["now"] += 59 * 60
    assert callstats.last_hour(redis_client, CORP, now=now)["externalcontact/get"].calls == 1


def test_a_redis_failure_never_fails_the_call(redis_client):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    callstats.record(dead, CORP, "externalcontact/get")  # no exception


def test_burst_left_falls_as_calls_run_ahead_of_the_rate(redis_client):
    clock = {"t": 1000.0}
    limiter = RateLimiter(redis_client, CORP, (Window("m", 60, 60, 10),), now=lambda: clock["t"],
                          sleep=lambda s: None)
    assert limiter.burst_left(["externalcontact/get"]) == {"externalcontact/get": {"m": 1.0}}
    for _ in range(5):
        limiter.acquire("externalcontact/get")
    left = limiter.burst_left(["externalcontact/get"])["externalcontact/get"]["m"]
    assert 0 < left < 1
    for _ in range(5):
        limiter.acquire("externalcontact/get")
    assert limiter.burst_left(["externalcontact/get"])["externalcontact/get"]["m"] == 0.0
    clock["t"] += 600  # idle: the burst is back
    assert limiter.burst_left(["externalcontact/get"])["externalcontact/get"]["m"] == 1.0
