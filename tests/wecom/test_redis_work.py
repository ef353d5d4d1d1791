"""The Redis work of one WeCom call (issue #16): the token comes from this process's copy of the
one kept in Redis, and the rate limiter's booking also counts the call, so a successful call is
one Redis round trip. Redis is the real test server; WeCom is mocked with `responses`."""
from __future__ import annotations

import json
import time

import pytest

from scrm.wecom import PermanentWeComError, RateLimiter, callstats, shared_cache
from tests.helpers import wecom_fixture as fixture

from .conftest import CORP_ID

CONTACT = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"
GET = "externalcontact/get"
OK = {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def counted_client(make_client, fake, round_trips):
    """New clients (as each welcome thread has its own) on the recording Redis, with the corp's limiter."""
    fake.token()
    return lambda: make_client(redis=round_trips.redis, rate_limiter=RateLimiter(round_trips.redis, CORP_ID))


def tokens_sent(fake, path: str = GET) -> list[str]:
    return [fake.params(r)["access_token"] for r in fake.calls(path)]


def test_a_booked_call_is_one_round_trip_and_reads_no_token_from_redis(counted_client, fake, round_trips,
                                                                      redis_client):
    fake.on("GET", GET)
    fake.on("POST", "externalcontact/send_welcome_msg", OK)
    first = counted_client()
    first.get_external_contact(CONTACT)  # fetches the token, loads the script
    round_trips.clear()

    first.get_external_contact(CONTACT)
    first.send_welcome_msg("CODE", text="hi")
    counted_client().get_external_contact(CONTACT)  # another client of this process

    assert round_trips.trips == [["EVALSHA"]] * 3
    assert len(fake.calls("gettoken")) == 1 and tokens_sent(fake) == ["TOKEN1"] * 3
    # That one script booked each call in the corp's budget and counted it for `flask scrm status`.
    stats = callstats.last_hour(redis_client, CORP_ID)
    assert {api: (s.calls, s.errors) for api, s in stats.items()} == {
        "gettoken": (1, 0), GET: (3, 0), "externalcontact/send_welcome_msg": (1, 0)}
    rate_keys = RateLimiter(redis_client, CORP_ID).keys("externalcontact/send_welcome_msg")
    assert all(redis_client.pttl(key) > 0 for key in rate_keys)


def test_without_a_limiter_a_call_is_counted_in_one_round_trip(make_client, fake, round_trips, redis_client):
    fake.token()
    fake.on("GET", GET)
    client = make_client(redis=round_trips.redis)
    client.get_external_contact(CONTACT)
    round_trips.clear()

    client.get_external_contact(CONTACT)

    assert round_trips.trips == [["HINCRBY", "EXPIRE"]]
    assert callstats.last_hour(redis_client, CORP_ID)[GET].calls == 2


def test_a_failed_booked_call_adds_its_errcode_only(counted_client, fake, round_trips, redis_client):
    fake.on("POST", "externalcontact/send_welcome_msg", OK, {"errcode": 41050, "errmsg": "invalid welcome_code"})
    client = counted_client()
    client.send_welcome_msg("CODE1", text="hi")
    round_trips.clear()

    with pytest.raises(PermanentWeComError):
        client.send_welcome_msg("CODE2", text="hi")

    assert round_trips.trips == [["EVALSHA"], ["HINCRBY", "EXPIRE"]]
    welcome = callstats.last_hour(redis_client, CORP_ID)["externalcontact/send_welcome_msg"]
    assert (welcome.calls, welcome.errors, welcome.errcodes) == (2, 1, {"41050": 1})


@pytest.mark.parametrize("errcode", [40014, 42001])
def test_a_token_wecom_rejects_leaves_the_process_copy_too(counted_client, fake, round_trips, redis_client,
                                                          errcode):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", GET, fixture(GET), {"errcode": errcode, "errmsg": "invalid access_token"}, fixture(GET))
    first, second = counted_client(), counted_client()
    first.get_external_contact(CONTACT)  # TOKEN1, copied for the process
    first.get_external_contact(CONTACT)  # rejected: TOKEN2 fetched (under the lock), the call retried once
    round_trips.clear()

    second.get_external_contact(CONTACT)  # another client: the new copy, no Redis read for it

    assert tokens_sent(fake) == ["TOKEN1", "TOKEN1", "TOKEN2", "TOKEN2"]
    assert len(fake.calls("gettoken")) == 2
    assert round_trips.trips == [["EVALSHA"]]
    assert first.session.get(first.access_token_key) == "TOKEN2"  # Redis, the shared source, has it
    stats = callstats.last_hour(redis_client, CORP_ID)[GET]
    assert (stats.calls, stats.errors, stats.errcodes) == (4, 1, {str(errcode): 1})


def test_the_copy_is_kept_a_while_though_another_process_refreshed_redis(counted_client, fake):
    fake.on("GET", GET)
    client = counted_client()
    client.get_external_contact(CONTACT)
    client.session.set(client.access_token_key, "FROM_ANOTHER_PROCESS", 600)

    client.get_external_contact(CONTACT)

    assert tokens_sent(fake) == ["TOKEN1", "TOKEN1"]  # TOKEN1 is still valid at WeCom


def test_the_copy_is_read_again_from_redis_after_local_ttl(counted_client, fake, monkeypatch):
    monkeypatch.setattr(shared_cache, "LOCAL_TTL", 0.05)
    fake.on("GET", GET)
    client = counted_client()
    client.get_external_contact(CONTACT)
    client.session.set(client.access_token_key, "FROM_ANOTHER_PROCESS", 600)
    time.sleep(0.1)

    client.get_external_contact(CONTACT)

    assert tokens_sent(fake) == ["TOKEN1", "FROM_ANOTHER_PROCESS"]
    assert len(fake.calls("gettoken")) == 1


def test_the_copy_never_outlives_the_redis_key(counted_client, fake, redis_client):
    fake.on("GET", GET)
    client = counted_client()
    name = client.session.key_name(client.access_token_key)
    redis_client.set(name, json.dumps("SHORT_LIVED"), px=2000)
    client.get_external_contact(CONTACT)  # copied until the key expires, not for LOCAL_TTL
    deadline = time.monotonic() + 10
    while redis_client.exists(name) and time.monotonic() < deadline:
        time.sleep(0.1)

    client.get_external_contact(CONTACT)

    assert tokens_sent(fake) == ["SHORT_LIVED", "TOKEN1"]
    assert len(fake.calls("gettoken")) == 1
