"""Transport, token cache/refresh and error mapping of WeComClient."""
from __future__ import annotations

import logging
import threading
import time

import pytest
import requests

from scrm.wecom import DEFAULT_API_BASE_URL, PermanentWeComError, RetryableWeComError, WeComClient, WeComError
from tests.helpers import wecom_fixture as fixture

from .conftest import BASE, SECRET

CONTACT = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"


def test_every_request_goes_to_configured_base_url_with_timeout(fake, make_client):
    fake.token()
    fake.on("GET", "externalcontact/get")
    fake.on("POST", "externalcontact/batch/get_by_user")
    client = make_client(timeout=3.5)

    client.get_external_contact(CONTACT)
    client.batch_get_by_user(["rocky"])

    urls = [r.url for r in fake.calls()]
    assert [u.split("?")[0] for u in urls] == [BASE + "gettoken", BASE + "externalcontact/get",
                                              BASE + "externalcontact/batch/get_by_user"]
    assert not any("qyapi.weixin.qq.com" in u for u in urls)
    assert [r.req_kwargs["timeout"] for r in fake.calls()] == [3.5, 3.5, 3.5]
    assert fake.params(fake.calls("gettoken")[0]) == {"corpid": "ww1436e0e65a779aee", "corpsecret": SECRET}
    assert fake.params(fake.calls("externalcontact/get")[0]) == {"external_userid": CONTACT,
                                                                 "access_token": "TOKEN1"}


def test_default_base_url_is_the_real_host(redis_client):
    assert DEFAULT_API_BASE_URL == "https://qyapi.weixin.qq.com/cgi-bin/"
    assert WeComClient("ww1", "x", redis=redis_client).API_BASE_URL == DEFAULT_API_BASE_URL


def test_wechatpy_api_objects_share_the_same_plumbing(client, fake):
    fake.on("GET", "externalcontact/get_follow_user_list")
    assert client.external_contact.get_follow_user_list() == fixture("externalcontact/get_follow_user_list")
    assert [r.url.split("?")[0] for r in fake.calls()] == [BASE + "gettoken",
                                                          BASE + "externalcontact/get_follow_user_list"]


def test_token_is_cached_in_redis_and_shared_between_instances(fake, make_client, redis_client):
    fake.token()
    fake.on("GET", "externalcontact/get_follow_user_list")

    make_client().get_follow_user_list()
    make_client().get_follow_user_list()

    assert len(fake.calls("gettoken")) == 1
    assert [fake.params(r)["access_token"] for r in fake.calls("externalcontact/get_follow_user_list")] == \
        ["TOKEN1", "TOKEN1"]
    keys = [k.decode() for k in redis_client.keys("*")]
    (key,) = [k for k in keys if k.endswith("access_token")]
    assert "ww1436e0e65a779aee" in key and SECRET not in key and SECRET[:10] not in key
    assert 7200 - 300 - 5 <= redis_client.ttl(key) <= 7200 - 300


def test_token_key_is_per_secret(fake, make_client):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", "externalcontact/get_follow_user_list")

    make_client().get_follow_user_list()
    make_client(secret="another-app-secret").get_follow_user_list()

    assert len(fake.calls("gettoken")) == 2
    assert [fake.params(r)["access_token"] for r in fake.calls("externalcontact/get_follow_user_list")] == \
        ["TOKEN1", "TOKEN2"]


def test_expired_token_is_refreshed_once_and_the_call_retried(client, fake, redis_client):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", "externalcontact/get",
            {"errcode": 42001, "errmsg": "access_token expired"}, fixture("externalcontact/get"))

    assert client.get_external_contact(CONTACT)["external_contact"]["name"] == "李四"

    assert len(fake.calls("gettoken")) == 2
    assert [fake.params(r)["access_token"] for r in fake.calls("externalcontact/get")] == ["TOKEN1", "TOKEN2"]
    assert client.session.get(client.access_token_key) == "TOKEN2"


@pytest.mark.parametrize("errcode", [40014, 40001])
def test_token_rejected_twice_raises_without_looping(client, fake, errcode):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", "externalcontact/get", {"errcode": errcode, "errmsg": "invalid access_token"})

    with pytest.raises(PermanentWeComError) as info:
        client.get_external_contact(CONTACT)

    assert info.value.errcode == errcode and info.value.api == "externalcontact/get"
    assert len(fake.calls("externalcontact/get")) == 2
    assert len(fake.calls("gettoken")) == 2


def test_gettoken_40001_is_not_retried(fake, make_client):
    fake.on("GET", "gettoken", {"errcode": 40001, "errmsg": "invalid credential"})
    with pytest.raises(PermanentWeComError) as info:
        make_client().get_follow_user_list()
    assert (info.value.api, info.value.errcode) == ("gettoken", 40001)
    assert len(fake.calls()) == 1


def test_refresh_reuses_a_token_another_process_already_refreshed(client, fake):
    client.session.set(client.access_token_key, "OLD", 600)

    def reject_old_token(request):
        if fake.params(request)["access_token"] == "OLD":
            client.session.set(client.access_token_key, "NEW_FROM_OTHER_WORKER", 600)
            return 200, {}, '{"errcode": 42001, "errmsg": "access_token expired"}'
        return 200, {}, '{"errcode": 0, "errmsg": "ok", "follow_user": []}'

    fake.rsps.add_callback("GET", BASE + "externalcontact/get_follow_user_list", callback=reject_old_token)

    client.get_follow_user_list()

    assert fake.calls("gettoken") == []
    assert [fake.params(r)["access_token"] for r in fake.calls("externalcontact/get_follow_user_list")] == \
        ["OLD", "NEW_FROM_OTHER_WORKER"]


def test_concurrent_refresh_calls_gettoken_once(fake, make_client):
    def slow_gettoken(request):
        time.sleep(0.3)  # widen the race window
        return 200, {}, '{"errcode": 0, "errmsg": "ok", "access_token": "TOKEN1", "expires_in": 7200}'

    fake.rsps.add_callback("GET", BASE + "gettoken", callback=slow_gettoken)
    fake.on("GET", "externalcontact/get_follow_user_list")
    clients = [make_client() for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    results, errors = [], []

    def work(c: WeComClient) -> None:
        barrier.wait()
        try:
            results.append(c.get_follow_user_list())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert errors == [] and len(results) == 8
    assert len(fake.calls("gettoken")) == 1
    assert {fake.params(r)["access_token"] for r in fake.calls("externalcontact/get_follow_user_list")} == {"TOKEN1"}


@pytest.mark.parametrize("errcode", [-1, 45009, 45033, 41096, 41063])
def test_transient_errcodes_are_retryable(client, fake, errcode):
    fake.on("POST", "externalcontact/send_welcome_msg", {"errcode": errcode, "errmsg": "busy"})
    with pytest.raises(RetryableWeComError) as info:
        client.send_welcome_msg("CODE", text="hi")
    exc = info.value
    assert (exc.errcode, exc.errmsg, exc.api, exc.retryable) == (
        errcode, "busy", "externalcontact/send_welcome_msg", True)
    assert len(fake.calls("externalcontact/send_welcome_msg")) == 1  # no hidden retries


@pytest.mark.parametrize("errcode", [84061, 41050, 41051, 40001, 60020, 48002, 81017])
def test_other_errcodes_are_permanent(client, fake, errcode):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", "externalcontact/get", {"errcode": errcode, "errmsg": "not external contact"})
    with pytest.raises(PermanentWeComError) as info:
        client.get_external_contact(CONTACT)
    assert isinstance(info.value, WeComError)
    assert (info.value.errcode, info.value.retryable) == (errcode, False)
    assert str(info.value) == f"externalcontact/get errcode={errcode}: not external contact"


@pytest.mark.parametrize("failure", [
    requests.ConnectionError("HTTPConnectionPool: Max retries exceeded with url: "
                             f"/cgi-bin/externalcontact/get?access_token=TOKEN1&external_userid={CONTACT}"),
    requests.ReadTimeout("read timed out"),
    requests.ConnectTimeout("connect timed out"),
])
def test_network_failures_are_retryable_and_leak_no_token(client, fake, failure):
    fake.on("GET", "externalcontact/get", body=failure)
    with pytest.raises(RetryableWeComError) as info:
        client.get_external_contact(CONTACT)
    assert info.value.errcode is None and info.value.api == "externalcontact/get"
    assert type(failure).__name__ in str(info.value)
    assert "TOKEN1" not in str(info.value) and info.value.__cause__ is None


def test_gettoken_network_failure_is_retryable_and_leaks_no_secret(fake, make_client):
    fake.on("GET", "gettoken", body=requests.ConnectionError(f"url: /cgi-bin/gettoken?corpid=x&corpsecret={SECRET}"))
    with pytest.raises(RetryableWeComError) as info:
        make_client().get_follow_user_list()
    assert (info.value.api, info.value.errcode) == ("gettoken", None)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("status, retryable", [(502, True), (503, True), (404, False)])
def test_http_error_status(client, fake, status, retryable):
    fake.on("GET", "externalcontact/get", status=status, body="Bad Gateway")
    with pytest.raises(WeComError) as info:
        client.get_external_contact(CONTACT)
    assert (info.value.errcode, info.value.retryable, info.value.errmsg) == (None, retryable, f"HTTP {status}")


def test_invalid_json_is_retryable(client, fake):
    fake.on("GET", "externalcontact/get", body="Warning: wrong json format. <html>")
    with pytest.raises(RetryableWeComError) as info:
        client.get_external_contact(CONTACT)
    assert info.value.errcode is None and "JSON" in info.value.errmsg


def test_one_log_line_per_http_call_without_secrets(client, fake, caplog):
    fake.token("TOKEN1", "TOKEN2")
    fake.on("GET", "externalcontact/get", {"errcode": 42001, "errmsg": "expired"}, fixture("externalcontact/get"))
    with caplog.at_level(logging.DEBUG, logger="scrm.wecom"):
        client.get_external_contact(CONTACT)

    lines = [r.getMessage() for r in caplog.records if r.name == "scrm.wecom"]
    assert len(lines) == 4  # gettoken, 42001, gettoken, ok
    levels = [r.levelname for r in caplog.records if r.name == "scrm.wecom"]
    assert levels == ["DEBUG", "WARNING", "DEBUG", "DEBUG"]  # successful calls only at DEBUG
    assert lines[1].startswith("wecom externalcontact/get errcode=42001 ") and lines[1].split()[3].endswith("ms")
    assert lines[3].startswith("wecom externalcontact/get errcode=0 ")
    text = caplog.text
    assert SECRET not in text and "TOKEN1" not in text and "TOKEN2" not in text
