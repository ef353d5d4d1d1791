"""WeCom callback crypto (PROTOCOL.md §1.4–1.5) on wechatpy, with the checks wechatpy lacks:
constant-time signature comparison, entity-free parsing and one error type for every way a
request can be forged or garbled."""
from __future__ import annotations

import binascii
import hmac
import xml.parsers.expat

import xmltodict
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import WeChatException


class InvalidCallback(ValueError):
    """The request is not a genuine callback for this corp; answer 4xx."""


def parse_xml(text: str | bytes) -> dict:
    """Parse a flat WeCom XML document; entity declarations are refused (XXE, billion laughs)."""
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except (ValueError, xml.parsers.expat.ExpatError) as exc:
        raise InvalidCallback(f"unparseable XML: {exc}") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise InvalidCallback("XML root element <xml> missing")
    return root


class CallbackCrypto:
    def __init__(self, token: str, aes_key: str, receive_id: str):
        self.token = token
        self.receive_id = receive_id
        self._crypto = WeChatCrypto(token, aes_key, receive_id)
        # Built once: its AES Cipher is immutable and hands out a fresh decryptor per call, so
        # one instance serves every request thread (building it cost more than decrypting).
        self._prp = PrpCrypto(self._crypto.key)

    def _verify(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = _get_signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), (signature or "").encode()):
            raise InvalidCallback("signature mismatch")

    def _decrypt(self, encrypted: str) -> str:
        try:
            return self._prp.decrypt(encrypted, self.receive_id)
        except (WeChatException, binascii.Error, ValueError, UnicodeDecodeError, IndexError,
                TypeError) as exc:
            raise InvalidCallback(f"cannot decrypt: {type(exc).__name__}") from None

    def echo(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification (GET): the decrypted echostr to send back verbatim."""
        self._verify(signature, timestamp, nonce, echostr)
        return self._decrypt(echostr)

    def decrypt_body(self, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
        """POST body → decrypted plaintext XML, after every check."""
        envelope = parse_xml(body)
        encrypted = envelope.get("Encrypt")
        if not encrypted or not isinstance(encrypted, str):
            raise InvalidCallback("no <Encrypt> element")
        to_user = envelope.get("ToUserName")
        if to_user and to_user != self.receive_id:
            raise InvalidCallback("ToUserName is another corp")
        self._verify(signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted)

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """Build a POST body as WeCom would: (body XML, msg_signature). For tests/simulator."""
        reply = parse_xml(self._crypto.encrypt_message(plaintext, nonce, timestamp))
        body = (f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{reply['Encrypt']}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
        return body, reply["MsgSignature"]

    def encrypt_echo(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        reply = parse_xml(self._crypto.encrypt_message(plaintext, nonce, timestamp))
        return reply["Encrypt"], reply["MsgSignature"]
