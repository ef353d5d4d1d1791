"""WeCom callback crypto (docs/wecom-client.md "Callback crypto"), owned on ``cryptography``.

* Signature: ``sha1("".join(sorted([token, timestamp, nonce, encrypt])))``, lowercase hex,
  compared in constant time (``hmac.compare_digest``).
* Cipher: AES-256-CBC; key = base64(EncodingAESKey + "="), 32 bytes; IV = the key's first 16
  bytes; PKCS#7 padding to a multiple of **32** bytes (not AES's 16).
* Plaintext: 16 random bytes + message length (4 bytes, big-endian) + message + receive id (the
  corp id), which must match ours.
* XML is parsed with entity declarations refused (XXE, billion laughs).

Every way a request can be forged or garbled raises one error type, ``InvalidCallback`` (4xx).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
import xml.parsers.expat

import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom's PKCS#7 block size in bytes
_ALPHABET = string.ascii_letters + string.digits


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


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """msg_signature over the four strings, sorted and concatenated."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypted))).encode()).hexdigest()


def random_prefix() -> bytes:
    """The 16 random bytes that start every plaintext (tests replace it to be deterministic)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(16)).encode()


def _pad(data: bytes) -> bytes:
    size = BLOCK - len(data) % BLOCK
    return data + bytes([size]) * size


def _unpad(data: bytes) -> bytes:
    size = data[-1] if data else 0
    if not 1 <= size <= BLOCK or data[-size:] != bytes([size]) * size:
        raise ValueError("bad padding")
    return data[:-size]


class CallbackCrypto:
    def __init__(self, token: str, aes_key: str, receive_id: str):
        self.token = token
        self.receive_id = receive_id
        key = base64.b64decode(aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters (32 bytes once decoded)")
        # Built once: the Cipher is immutable and hands out a fresh context per call, so one
        # instance serves every request thread.
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def _verify(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = sign(self.token, timestamp or "", nonce or "", encrypted)
        if not hmac.compare_digest(expected.encode(), (signature or "").encode()):
            raise InvalidCallback("signature mismatch")

    def _decrypt(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(encrypted, validate=True)
            decryptor = self._cipher.decryptor()
            plain = _unpad(decryptor.update(data) + decryptor.finalize())
            (length,) = struct.unpack(">I", plain[16:20])
            message, receive_id = plain[20:20 + length], plain[20 + length:]
            if len(message) != length:
                raise ValueError("length past the end")
            if receive_id.decode() != self.receive_id:
                raise InvalidCallback("cannot decrypt: another receive id")
            return message.decode()
        except InvalidCallback:
            raise
        except (binascii.Error, ValueError, struct.error, UnicodeDecodeError) as exc:
            raise InvalidCallback(f"cannot decrypt: {type(exc).__name__}") from None

    def _encrypt(self, plaintext: str) -> str:
        message = plaintext.encode()
        data = random_prefix() + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(_pad(data)) + encryptor.finalize()).decode()

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

    def encrypt_echo(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """(Encrypt, msg_signature) for ``plaintext``, as WeCom would send it."""
        encrypted = self._encrypt(plaintext)
        return encrypted, sign(self.token, str(timestamp), str(nonce), encrypted)

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """Build a POST body as WeCom would: (body XML, msg_signature). For tests/simulator."""
        encrypted, signature = self.encrypt_echo(plaintext, nonce, timestamp)
        body = (f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
        return body, signature
