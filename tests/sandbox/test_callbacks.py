"""Callbacks: built as WeCom sends them, signed and encrypted, accepted by the service's
endpoint and stored in its inbox; WeCom's retry and duplicate-delivery behaviour."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from sandbox import callbacks
from sandbox.actions import Actions
from sandbox.callbacks import CallbackSender, flask_client_transport
from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.sandbox_corp import SANDBOX_AES_KEY, SANDBOX_CORP_ID, SANDBOX_TOKEN
from scrm.wecom.crypto import CallbackCrypto, parse_xml
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN
from tests.sandbox.conftest import make_world

SERVICE_URL = "http://service.test/wecom/callback"


@pytest.fixture
def test_corp_world(clock):
    return make_world(clock, corp_id=TEST_CORP_ID, token=TEST_TOKEN, aes_key=TEST_AES_KEY)


def sender_to_service(world, client, **kwargs) -> CallbackSender:
    return CallbackSender(SERVICE_URL, corp_id=TEST_CORP_ID, token=TEST_TOKEN, aes_key=TEST_AES_KEY,
                          feed=world.feed, transport=flask_client_transport(client), asynchronous=False,
                          sleep=lambda seconds: None, **kwargs)


def inbox() -> list[CallbackEvent]:
    return list(db.session.scalars(select(CallbackEvent).order_by(CallbackEvent.id)))


def test_an_actions_callback_is_accepted_and_stored_by_the_service(app, client, test_corp_world):
    world = test_corp_world
    actions = Actions(world, sender_to_service(world, client))
    staff = next(s for s in world.staff.values() if s.has_contact)
    result = actions.run("add_customer", {"userid": staff.userid, "state": "expo_2024"})

    (delivery,) = world.feed.since(0, 1000, kind="callback")
    assert delivery["ok"] and delivery["attempts"][0]["status"] == 200 and len(delivery["attempts"]) == 1
    (row,) = inbox()
    assert (row.corp_id, row.event) == (TEST_CORP_ID, "change_external_contact")
    assert row.change_type == "add_external_contact"
    fields = parse_xml(row.payload)
    assert fields["ToUserName"] == TEST_CORP_ID and fields["FromUserName"] == "sys"
    assert (fields["UserID"], fields["ExternalUserID"]) == (staff.userid, result["external_userid"])
    assert (fields["State"], fields["WelcomeCode"]) == ("expo_2024", result["welcome_code"])
    assert fields["CreateTime"] == str(int(world.now()))


def test_duplicate_delivery_is_stored_once(app, client, test_corp_world):
    world = test_corp_world
    actions = Actions(world, sender_to_service(world, client))
    staff = next(s for s in world.staff.values() if s.relations)
    actions.run("customer_deletes_staff", {"userid": staff.userid,
                                           "external_userid": next(iter(staff.relations)), "duplicate": True})
    deliveries = world.feed.since(0, 1000, kind="callback")
    assert [(d["ok"], d["duplicate"]) for d in deliveries] == [(True, False), (True, True)]
    assert [(r.event, r.change_type) for r in inbox()] == [("change_external_contact", "del_follow_user")]


def test_every_kind_of_event_is_accepted(app, client, test_corp_world):
    world = test_corp_world
    actions = Actions(world, sender_to_service(world, client))
    staff = next(s for s in world.staff.values() if s.has_contact and s.relations)
    group = next(g for g in world.groups.values() if g.owner != staff.userid)
    customer = next(ext for ext in world.customers if ext not in group.members)
    tag = next(iter(world.tags))
    pair = {"userid": staff.userid, "external_userid": next(iter(staff.relations))}
    for name, params in [
        ("edit_customer", {**pair, "add_tags": [tag]}),
        ("staff_deletes_customer", pair),
        ("join_group", {"chat_id": group.chat_id, "member_ids": [customer]}),
        ("leave_group", {"chat_id": group.chat_id, "member_ids": [customer]}),
        ("change_group_notice", {"chat_id": group.chat_id, "notice": "公告 <b>&</b> ]]> 结束"}),
        ("create_corp_tag", {"group_name": "会员等级", "tag_name": "金卡"}),
        ("staff_sends_app_message", {"userid": staff.userid, "content": "查询客户 王总"}),
        ("staff_leaves", {"userid": staff.userid}),
        ("staff_joins", {"name": "新同事"}),
        ("dismiss_group", {"chat_id": group.chat_id}),
    ]:
        actions.run(name, params)
    assert all(d["ok"] for d in world.feed.since(0, 1000, kind="callback"))
    assert [(r.event, r.change_type) for r in inbox()] == [
        ("change_external_contact", "edit_external_contact"),
        ("change_external_contact", "del_external_contact"),
        ("change_external_chat", "update"), ("change_external_chat", "update"),
        ("change_external_chat", "update"), ("change_external_tag", "create"), ("text", None),
        ("change_contact", "delete_user"), ("change_contact", "create_user"),
        ("change_external_chat", "dismiss")]
    notice = parse_xml(inbox()[4].payload)
    assert notice["UpdateDetail"] == "change_notice" and "MemChangeList" not in notice
    message = parse_xml(inbox()[6].payload)
    assert (message["FromUserName"], message["Content"]) == (staff.userid, "查询客户 王总")
    assert message["AgentID"] == "1000002"


def test_failures_are_retried_up_to_three_times(test_corp_world):
    world = test_corp_world
    statuses = iter([500, 502, 200])
    requests_seen = []

    def flaky(url, body, query, timeout):
        requests_seen.append((body, dict(query), timeout))
        return next(statuses)

    sender = CallbackSender(SERVICE_URL, feed=world.feed, transport=flaky, asynchronous=False,
                            sleep=lambda s: None)
    record = sender.send(callbacks.contact(SANDBOX_CORP_ID, "delete_user", 1, "zhangsan"))
    assert record["ok"] and [a["status"] for a in record["attempts"]] == [500, 502, 200]
    # A retry re-sends the same request (same body, signature, nonce, timestamp).
    assert len({(b, tuple(sorted(q.items()))) for b, q, _ in requests_seen}) == 1
    assert requests_seen[0][2] == 5.0

    def timing_out(url, body, query, timeout):
        raise requests.Timeout("read timed out")

    sender.transport = timing_out
    record = sender.send(callbacks.contact(SANDBOX_CORP_ID, "delete_user", 1, "lisi"))
    assert not record["ok"] and len(record["attempts"]) == 4
    assert record["attempts"][-1]["error"].startswith("Timeout")


def test_real_http_delivery_is_signed_and_percent_encoded(serve):
    """Over a socket, to an endpoint that checks the signature like the service does."""
    from flask import Flask, request

    crypto = CallbackCrypto(SANDBOX_TOKEN, SANDBOX_AES_KEY, SANDBOX_CORP_ID)
    received = []
    receiver = Flask("receiver")

    @receiver.post("/cb")
    def cb():
        received.append(crypto.decrypt_body(request.get_data(), request.args["msg_signature"],
                                            request.args["timestamp"], request.args["nonce"]))
        return ""

    sender = CallbackSender(serve(receiver) + "/cb", asynchronous=True)
    plaintext = callbacks.external_contact(SANDBOX_CORP_ID, "add_external_contact", 1700000000, "zhangwei",
                                           "wmAAA", state="s+1/=", welcome_code="Ar_p4+/=")
    for _ in range(5):  # nonces and ciphertexts vary; each must verify
        sender.send(plaintext)
    sender.join()
    assert received == [plaintext] * 5


def test_builders_match_the_protocol_samples():
    xml = callbacks.external_chat("wwcorp", "update", 1403610513, "wrCHAT", update_detail="add_member",
                                  join_scene=0, members=["Jack", "Rose"], last_mem_ver="a", cur_mem_ver="b")
    fields = parse_xml(xml)
    assert fields["MemChangeList"] == {"Item": ["Jack", "Rose"]} and fields["MemChangeCnt"] == "2"
    assert (fields["JoinScene"], fields["LastMemVer"], fields["CurMemVer"]) == ("0", "a", "b")
    assert "QuitScene" not in fields
    no_code = parse_xml(callbacks.external_contact("wwcorp", "add_external_contact", 1, "u", "wm"))
    assert "WelcomeCode" not in no_code and no_code["State"] is None
    shuffle = parse_xml(callbacks.external_tag("wwcorp", "shuffle", 1, "", "tag"))
    assert shuffle["Id"] is None and "TagType" not in shuffle
