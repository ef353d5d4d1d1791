"""Callback crypto against the official test vectors (PROTOCOL.md §1.9)."""
from __future__ import annotations

import pytest

from scrm.crypto import CallbackCrypto, InvalidCallback

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
    """Encryption with the random prefix fixed reproduces PROTOCOL.md's vector D signature."""
    from wechatpy.enterprise import crypto as wechat_crypto

    class FixedPrp(wechat_crypto.PrpCrypto):
        def get_random_string(self):
            return "1234567890123456"

    monkeypatch.setattr(wechat_crypto, "PrpCrypto", FixedPrp)
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


def test_wrong_receive_id_is_rejected():
    body = f"<xml><Encrypt><![CDATA[{A_POST_ENCRYPT}]]></Encrypt></xml>"
    other = CallbackCrypto(VECTOR_A["token"], VECTOR_A["aes_key"], "wwanothercorp")
    with pytest.raises(InvalidCallback, match="decrypt"):
        other.decrypt_body(body.encode(), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
                           "1476422779", "1597212914")
