"""The per-corp, per-API call budget shared through Redis (scrm/wecom/ratelimit.py), on a fake clock."""
from __future__ import annotations

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from scrm.wecom import RateLimiter, RetryableWeComError, callstats
from scrm.wecom.ratelimit import Window, default_windows

from .conftest import CORP_ID

API = "externalcontact/groupchat/get"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(redis_client, clock, windows, corp="wwcorp", **kw) -> RateLimiter:
    return RateLimiter(redis_client, corp, windows, now=clock, sleep=clock.sleep, **kw)


def max_in_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_calls_stay_within_rate_plus_burst_in_every_window(redis_client):
    clock = FakeClock()
    budget = limiter(redis_client, clock, (Window("m", 60, 100, 10),), max_wait=3600)
    times = []
    for _ in range(400):
        budget.acquire(API)
        times.append(clock.now)

    assert max_in_window(times, 60) <= 110
    assert times[9] == times[0]  # a burst goes at once
    assert times[-1] - times[0] == pytest.approx((400 - 10) * 0.6, abs=0.7)  # then 100 a minute


def test_two_processes_share_one_budget_per_corp_and_api(redis_client):
    clock = FakeClock()
    windows = (Window("m", 60, 60, 1),)
    first, second = limiter(redis_client, clock, windows), limiter(redis_client, clock, windows)
    for budget in (first, second, first, second):
        budget.acquire(API)
    assert clock.slept == [1.0, 1.0, 1.0]
    # another API, or another corp, has its own budget
    limiter(redis_client, clock, windows).acquire("externalcontact/get")
    limiter(redis_client, clock, windows, corp="wwother").acquire(API)
    assert clock.slept == [1.0, 1.0, 1.0]


def test_a_wait_longer_than_max_wait_raises_45009_and_books_nothing(redis_client):
    clock = FakeClock()
    budget = limiter(redis_client, clock, (Window("m", 60, 6, 1),), max_wait=5)
    budget.acquire(API)
    with pytest.raises(RetryableWeComError) as caught:
        budget.acquire(API)  # would wait 10 s
    assert caught.value.errcode == 45009 and "local rate limit" in caught.value.errmsg
    clock.now += 10
    assert budget.acquire(API) == 0  # the refused call took no room


def test_the_hour_window_binds_too(redis_client):
    clock = FakeClock()
    budget = limiter(redis_client, clock, (Window("m", 60, 1000, 1000), Window("h", 3600, 1200, 100)),
                     max_wait=3600)
    for _ in range(100):
        budget.acquire(API)
    assert clock.slept == []  # the hour's burst; the minute window would allow 1,000
    budget.acquire(API)
    budget.acquire(API)
    assert clock.slept == [pytest.approx(3.0), pytest.approx(3.0)]  # 1,200 an hour: one every 3 s


def test_defaults_keep_a_margin_under_wecoms_limits():
    minute, hour = default_windows()
    assert minute.calls + minute.burst <= 0.9 * 10_000
    assert hour.calls + hour.burst <= 0.95 * 150_000


def test_redis_down_lets_the_call_through():
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    assert RateLimiter(down, "wwcorp").acquire(API) == 0


def test_the_client_books_every_api_call(make_client, fake, redis_client):
    client = make_client(rate_limiter=RateLimiter(redis_client, CORP_ID))
    fake.token()
    fake.on("POST", "externalcontact/groupchat/get", {"errcode": 0, "errmsg": "ok", "group_chat": {}})
    fake.on("GET", "externalcontact/get", {"errcode": 0, "errmsg": "ok", "external_contact": {}})

    client.groupchat_get("wrX")
    client.get_external_contact("wmX")

    booked = sorted(key.decode() for key in redis_client.keys(f"scrm:wecom:rate:{CORP_ID}:*"))
    assert booked == [f"scrm:wecom:rate:{CORP_ID}:{api}:{window}" for api in (
        "externalcontact/get", "externalcontact/groupchat/get") for window in "hm"]  # gettoken is not booked


def test_a_booking_counts_the_call_once_and_a_refusal_counts_nothing(redis_client):
    clock = FakeClock()
    waiting = limiter(redis_client, clock, (Window("m", 60, 60, 1),), max_wait=3600)
    waiting.acquire(API, tally=callstats.tally("wwcorp", API, now=clock))
    waiting.acquire(API, tally=callstats.tally("wwcorp", API, now=clock))  # waits 1 s, then booked
    assert clock.slept == [1.0]
    refusing = limiter(redis_client, clock, (Window("m", 60, 60, 1),), max_wait=0.5)
    with pytest.raises(RetryableWeComError):
        refusing.acquire(API, tally=callstats.tally("wwcorp", API, now=clock))  # would wait 1 s
    stats = callstats.last_hour(redis_client, "wwcorp", now=clock)
    assert (stats[API].calls, stats[API].errors) == (2, 0)
    (bucket,) = redis_client.keys(f"{callstats.KEY_PREFIX}:wwcorp:*")
    assert 3600 < redis_client.ttl(bucket) <= callstats.TTL_SECONDS


def test_message_send_allows_30_per_minute_per_staff_member(redis_client):
    clock = FakeClock()
    clock.now = 1_700_000_020.0  # 20 s before a minute ends
    budget = limiter(redis_client, clock, None)
    assert [budget.member_allows("message/send", "zhangsan") for _ in range(31)] == [True] * 30 + [False]
    assert budget.member_allows("message/send", "lisi")  # each member has their own budget
    assert limiter(redis_client, clock, None, corp="wwother").member_allows("message/send", "zhangsan")
    assert budget.member_allows("externalcontact/get", "zhangsan")  # no per-member rule for other APIs
    clock.now += 20  # the next minute
    assert budget.member_allows("message/send", "zhangsan")
    assert all(0 < redis_client.ttl(key) <= 7200 for key in redis_client.keys("scrm:wecom:rate:*:member:*"))


def test_message_send_allows_1000_per_hour_per_staff_member(redis_client):
    clock = FakeClock()
    clock.now = 1_699_999_200.0  # the start of an hour
    budget = limiter(redis_client, clock, None)
    allowed = 0
    for _ in range(40):  # 40 minutes x 30 would be 1,200
        allowed += sum(budget.member_allows("message/send", "zhangsan") for _ in range(30))
        clock.now += 60
    assert allowed == 1000


def test_a_refused_member_call_counts_nothing(redis_client, monkeypatch):
    from scrm.wecom import ratelimit

    monkeypatch.setitem(ratelimit.MEMBER_LIMITS, "message/send", ((60, 2), (3600, 3)))
    clock = FakeClock()
    clock.now = 1_699_999_200.0
    budget = limiter(redis_client, clock, None)
    assert [budget.member_allows("message/send", "u") for _ in range(4)] == [True, True, False, False]
    clock.now += 60
    assert [budget.member_allows("message/send", "u") for _ in range(2)] == [True, False]  # 3 an hour


def test_redis_down_allows_the_member_call():
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    assert RateLimiter(down, "wwcorp").member_allows("message/send", "zhangsan")
