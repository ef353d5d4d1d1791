"""Callback crypto against the official test vectors (docs/wecom/callbacks.md#test-vectors)."""
from __future__ import annotations

import base64
import hmac
import inspect
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scrm.wecom import crypto as crypto_module
from scrm.wecom.crypto import CallbackCrypto, InvalidCallback, parse_xml, sign

VECTOR_A = dict(token="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
                aes_key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", receive_id="ww1436e0e65a779aee")
VECTOR_B = dict(token="QDG6eK", aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                receive_id="wx5823bf96d3bd56c7")
VECTOR_C = dict(token="123456", aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
                receive_id="wx49f0ab532d5d035a")

A_POST_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")
B_POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")
C_POST_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")


@pytest.mark.parametrize("vector, signature, timestamp, nonce, echostr, expected", [
    (VECTOR_A, "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
     "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
     "1288432023552776189"),
    (VECTOR_B, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
     "1616140317555161061"),
    (VECTOR_C, "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425",
     "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
     "5927782489442352469"),
])
def test_url_verification_vectors(vector, signature, timestamp, nonce, echostr, expected):
    assert CallbackCrypto(**vector).echo(signature, timestamp, nonce, echostr) == expected


@pytest.mark.parametrize("vector, signature, timestamp, nonce, encrypt, expected_fragment", [
    (VECTOR_A, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914",
     A_POST_ENCRYPT, "<Content>你好</Content><MsgId>1456453720</MsgId>"),
    (VECTOR_B, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149",
     B_POST_ENCRYPT, "<Content><![CDATA[hello]]></Content>"),
    (VECTOR_C, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294",
     C_POST_ENCRYPT, "messense"),
])
def test_message_vectors(vector, signature, timestamp, nonce, encrypt, expected_fragment):
    body = f"<xml><ToUserName><![CDATA[{vector['receive_id']}]]></ToUserName>" \
           f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    plaintext = CallbackCrypto(**vector).decrypt_body(body.encode(), signature, timestamp, nonce)
    assert expected_fragment in plaintext


def test_official_plaintext_of_vector_a():
    body = f"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n" \
           f"<Encrypt><![CDATA[{A_POST_ENCRYPT}]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
    plaintext = CallbackCrypto(**VECTOR_A).decrypt_body(
        body.encode(), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914")
    assert plaintext == (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>")


def test_derived_vector_d_signature(monkeypatch):
    """Encryption with the random prefix fixed reproduces vector D's signature
    (docs/wecom/callbacks.md#test-vectors)."""
    monkeypatch.setattr(crypto_module, "random_prefix", lambda: b"1234567890123456")
    plaintext = ("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><FromUserName><![CDATA[sys]]>"
                 "</FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                 "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]>"
                 "</ChangeType><UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA["
                 "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID><State><![CDATA[teststate]]></State>"
                 "<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>")
    crypto = CallbackCrypto(**VECTOR_A)
    body, signature = crypto.encrypt(plaintext, "1597212914", "1476422779")
    assert signature == "589a886a7867e6113daeb7c086da15e1b5ae3c18"
    assert crypto.decrypt_body(body.encode(), signature, "1476422779", "1597212914") == plaintext


@pytest.mark.parametrize("vector, signature, timestamp, nonce, encrypt", [
    (VECTOR_A, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", A_POST_ENCRYPT),
    (VECTOR_B, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", B_POST_ENCRYPT),
    (VECTOR_C, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", C_POST_ENCRYPT),
])
def test_signature_is_sha1_of_the_sorted_four_strings(vector, signature, timestamp, nonce, encrypt):
    assert sign(vector["token"], timestamp, nonce, encrypt) == signature


def test_vector_a_layout_is_pkcs7_to_32_byte_blocks():
    """docs/wecom/callbacks.md#test-vectors: 266 plaintext bytes pad to 288 (22 bytes of 0x16), the layout is
    random16 + big-endian length + message + receive id."""
    key = base64.b64decode(VECTOR_A["aes_key"] + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = decryptor.update(base64.b64decode(A_POST_ENCRYPT)) + decryptor.finalize()
    assert len(raw) == 288 and raw[-22:] == bytes([22]) * 22
    assert raw[:16] == b"694ce5a83ae07fe3" and struct.unpack(">I", raw[16:20]) == (228,)
    assert raw[20 + 228:-22] == b"ww1436e0e65a779aee"


def test_round_trip_pads_to_32_byte_blocks():
    crypto = CallbackCrypto(**VECTOR_A)
    for size in (0, 1, 11, 12, 13, 44, 300):  # 16 + 4 + 18 (receive id) = 38 bytes of overhead
        plaintext = "x" * size
        encrypted, signature = crypto.encrypt_echo(plaintext, "1", "2")
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert crypto.echo(signature, "2", "1", encrypted) == plaintext


def test_random_prefix_differs_per_message():
    crypto = CallbackCrypto(**VECTOR_A)
    assert crypto.encrypt_echo("same", "1", "2")[0] != crypto.encrypt_echo("same", "1", "2")[0]


@pytest.mark.parametrize("signature", ["", "0c3914025cb4b4d68103f6bfc8db550f79dcf48f",
                                       "0C3914025CB4B4D68103F6BFC8DB550F79DCF48E", "0c3914025cb4b4d6"])
def test_wrong_signature_is_rejected(signature):
    body = f"<xml><Encrypt><![CDATA[{A_POST_ENCRYPT}]]></Encrypt></xml>"
    with pytest.raises(InvalidCallback, match="signature"):
        CallbackCrypto(**VECTOR_A).decrypt_body(body.encode(), signature, "1476422779", "1597212914")


def test_signature_is_compared_in_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(crypto_module.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    CallbackCrypto(**VECTOR_A).echo("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
                                    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==")
    assert compared == [(b"012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",) * 2]


@pytest.mark.parametrize("garbled", [
    "not base64!",                              # binascii.Error
    base64.b64encode(b"x" * 31).decode(),       # not a whole AES block
    base64.b64encode(b"x" * 32).decode(),       # decrypts to garbage padding
    A_POST_ENCRYPT[:-44] + "=",                 # truncated
])
def test_garbled_ciphertext_is_one_error_type(garbled):
    crypto = CallbackCrypto(**VECTOR_A)
    signature = sign(VECTOR_A["token"], "1", "2", garbled)
    with pytest.raises(InvalidCallback):
        crypto.echo(signature, "1", "2", garbled)


def test_bad_padding_is_rejected():
    """A block whose padding bytes disagree is refused (wechatpy read only the last byte)."""
    key = base64.b64decode(VECTOR_A["aes_key"] + "=")
    data = b"1234567890123456" + struct.pack(">I", 2) + b"hi" + b"ww1436e0e65a779aee" + b"\x01" * 23 + b"\x18"
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypted = base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()
    with pytest.raises(InvalidCallback, match="decrypt"):
        CallbackCrypto(**VECTOR_A).echo(sign(VECTOR_A["token"], "1", "2", encrypted), "1", "2", encrypted)


def test_entities_are_refused():
    body = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<xml><Encrypt>&x;</Encrypt></xml>")
    with pytest.raises(InvalidCallback, match="unparseable"):
        parse_xml(body)


def test_short_aes_key_is_refused():
    with pytest.raises(ValueError):
        CallbackCrypto("t", "short", "ww1")


def test_crypto_does_not_use_wechatpy():
    source = inspect.getsource(crypto_module)
    assert "wechatpy" not in source


def test_wrong_receive_id_is_rejected():
    body = f"<xml><Encrypt><![CDATA[{A_POST_ENCRYPT}]]></Encrypt></xml>"
    other = CallbackCrypto(VECTOR_A["token"], VECTOR_A["aes_key"], "wwanothercorp")
    with pytest.raises(InvalidCallback, match="decrypt"):
        other.decrypt_body(body.encode(), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
                           "1476422779", "1597212914")
