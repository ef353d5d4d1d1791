"""send_welcome_msg: a WelcomeCode works once, within 20 s of the add (docs/wecom/limits.md#content-limits)."""
from __future__ import annotations

import pytest

from tests.sandbox.conftest import api_calls


@pytest.fixture
def added(sim, world):
    staff = next(s for s in world.staff.values() if s.has_contact)
    return sim.action("add_customer", userid=staff.userid, state="poster_a")


def welcome_entries(world):
    return world.feed.since(0, 1000, kind="welcome_sent")


def test_code_works_once_and_the_message_is_recorded(sim, world, clock, added):
    clock.advance(3.5)
    body = {"welcome_code": added["welcome_code"], "text": {"content": "你好，我是你的专属顾问"},
            "attachments": [{"msgtype": "link", "link": {"title": "新人礼", "url": "https://example.com/gift"}}]}
    assert sim.post("externalcontact/send_welcome_msg", body)["errcode"] == 0

    (entry,) = welcome_entries(world)
    assert entry["userid"] == added["userid"] and entry["external_userid"] == added["external_userid"]
    assert entry["text"] == {"content": "你好，我是你的专属顾问"}
    assert entry["attachments"][0]["link"]["title"] == "新人礼"
    assert entry["latency_ms"] == 3500

    second = sim.post("externalcontact/send_welcome_msg", body)
    assert second["errcode"] == 41051
    assert len(welcome_entries(world)) == 1


def test_code_is_invalid_after_20_seconds(sim, world, clock, added):
    clock.advance(20.5)
    reply = sim.post("externalcontact/send_welcome_msg",
                     {"welcome_code": added["welcome_code"], "text": {"content": "hi"}})
    assert reply["errcode"] == 41050
    assert welcome_entries(world) == []


def test_code_is_valid_at_exactly_20_seconds(sim, clock, added):
    clock.advance(20)
    assert sim.post("externalcontact/send_welcome_msg",
                    {"welcome_code": added["welcome_code"], "text": {"content": "hi"}})["errcode"] == 0


def test_unknown_and_missing_codes(sim):
    assert sim.post("externalcontact/send_welcome_msg",
                    {"welcome_code": "nope", "text": {"content": "hi"}})["errcode"] == 41050
    assert sim.post("externalcontact/send_welcome_msg", {"text": {"content": "hi"}})["errcode"] == 41049


@pytest.mark.parametrize("body, errcode", [
    ({"text": {"content": "字" * 1334}}, 45002),                      # 4002 bytes > 4000
    ({"attachments": [{"msgtype": "image", "image": {"pic_url": "https://p/x.png"}}] * 10}, 40058),
    ({"attachments": [{"msgtype": "voice", "voice": {"media_id": "m"}}]}, 41065),
    ({"attachments": [{"msgtype": "link", "link": {"title": "t" * 129, "url": "https://e.com"}}]}, 40058),
    ({"attachments": [{"msgtype": "file", "file": {}}]}, 41006),
    ({}, 44004),
])
def test_body_limits_do_not_use_up_the_code(sim, added, body, errcode):
    assert sim.post("externalcontact/send_welcome_msg",
                    {"welcome_code": added["welcome_code"], **body})["errcode"] == errcode
    ok = sim.post("externalcontact/send_welcome_msg",
                  {"welcome_code": added["welcome_code"], "text": {"content": "字" * 1333}})  # 3999 bytes
    assert ok["errcode"] == 0


def test_every_call_is_in_the_feed_without_credentials(sim, world, added):
    sim.post("externalcontact/send_welcome_msg",
             {"welcome_code": added["welcome_code"], "text": {"content": "x"}})
    (call,) = api_calls(world, "externalcontact/send_welcome_msg")
    assert call["errcode"] == 0 and call["body"]["text"] == {"content": "x"}
    assert "access_token" not in call["params"]
    (token_call,) = api_calls(world, "gettoken")
    assert "corpsecret" not in token_call["params"]
