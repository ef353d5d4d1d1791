"""The callback endpoint: verify, decrypt, store once, enqueue, reply."""
from __future__ import annotations

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.queueing import get_queue
from scrm.services import inbox
from scrm.wecom.crypto import CallbackCrypto, sign
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN
from tests.helpers import encrypt, event_xml, post_callback


def inbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CallbackEvent))


def test_url_verification_echoes_plaintext(client):
    crypto = CallbackCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_CORP_ID)
    echostr, signature = crypto.encrypt_echo("1288432023552776189", "47744683", "1476416373")
    resp = client.get("/wecom/callback", query_string={
        "msg_signature": signature, "timestamp": "1476416373", "nonce": "47744683",
        "echostr": echostr})
    assert resp.status_code == 200
    assert resp.data == b"1288432023552776189"
    assert resp.mimetype == "text/plain"


def test_url_verification_with_forged_signature_is_403(client):
    crypto = CallbackCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_CORP_ID)
    echostr, _ = crypto.encrypt_echo("1288432023552776189", "47744683", "1476416373")
    resp = client.get("/wecom/callback", query_string={
        "msg_signature": "0" * 40, "timestamp": "1476416373", "nonce": "47744683",
        "echostr": echostr})
    assert resp.status_code == 403


def test_post_stores_once_and_enqueues_once(app, client, redis_client):
    xml = event_xml("change_external_contact", "del_follow_user", UserID="zhangsan",
                    ExternalUserID="wmAAA")
    for _ in range(3):
        resp = post_callback(client, xml)
        assert resp.status_code == 200
        assert resp.data == b""
    assert inbox_count() == 1
    row = db.session.scalar(select(CallbackEvent))
    assert (row.corp_id, row.event, row.change_type, row.status) == (
        TEST_CORP_ID, "change_external_contact", "del_follow_user", "pending")
    assert row.payload == xml
    assert redis_client.lrange(inbox.NOTICES, 0, -1) == [str(row.id).encode()]  # one notice
    assert inbox.relay_notices() == 1  # the worker's relay: one job, the row's
    assert get_queue("callbacks").job_ids == [f"callback-{row.id}"]


def test_forged_signature_is_403_and_stores_nothing(client):
    body, query = encrypt(event_xml("change_external_contact", "edit_external_contact"))
    query["msg_signature"] = "f" * 40
    resp = client.post("/wecom/callback", data=body, query_string=query)
    assert resp.status_code == 403
    assert inbox_count() == 0


def test_wrong_corp_is_rejected(client):
    resp = post_callback(client, event_xml("change_external_contact", "edit_external_contact"),
                         corp_id="wwsomeoneelse00001")
    assert resp.status_code == 400
    assert inbox_count() == 0


def test_unknown_corp_path_is_404(client):
    resp = post_callback(client, event_xml("change_contact", "delete_user"),
                         path="/wecom/callback/wwnotregistered")
    assert resp.status_code == 404


def test_garbled_ciphertext_is_400(client):
    body, query = encrypt(event_xml("change_contact", "delete_user"))
    # Same signature scheme, but the ciphertext is cut short: signed correctly, undecryptable.
    truncated = "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAyb"
    query["msg_signature"] = sign(TEST_TOKEN, query["timestamp"], query["nonce"], truncated)
    resp = client.post("/wecom/callback", data=f"<xml><Encrypt><![CDATA[{truncated}]]></Encrypt></xml>",
                       query_string=query)
    assert resp.status_code == 400
    assert inbox_count() == 0


def test_entity_bearing_xml_is_400(client):
    body = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>')
    resp = client.post("/wecom/callback", data=body,
                       query_string={"msg_signature": "x", "timestamp": "1", "nonce": "2"})
    assert resp.status_code == 400


def test_oversized_body_is_413(client):
    body = b"<xml><Encrypt>" + b"A" * (70 * 1024) + b"</Encrypt></xml>"
    resp = client.post("/wecom/callback", data=body,
                       query_string={"msg_signature": "x", "timestamp": "1", "nonce": "2"})
    assert resp.status_code == 413
    assert inbox_count() == 0


def test_not_xml_is_400(client):
    resp = client.post("/wecom/callback", data=b"\x00\xffnot xml",
                       query_string={"msg_signature": "x", "timestamp": "1", "nonce": "2"})
    assert resp.status_code == 400
