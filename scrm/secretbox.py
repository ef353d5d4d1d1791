"""Secrets at rest (further corps' app secret, callback Token and EncodingAESKey): Fernet
(AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key from the environment,
`SCRM_DATA_KEY` (generate one with `python -c 'from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())'`). A stolen database dump without the key yields nothing."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from scrm.config import settings

PREFIX = "fernet:"  # marks an encrypted value; rows written before encryption carry plaintext


class DataKeyError(RuntimeError):
    """SCRM_DATA_KEY is missing, malformed, or not the key the value was encrypted with."""


def _fernet() -> Fernet:
    key = settings().data_key
    if not key:
        raise DataKeyError("SCRM_DATA_KEY is not set: generate one with python -c 'from cryptography.fernet "
                           "import Fernet; print(Fernet.generate_key().decode())' and keep it out of the database.")
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise DataKeyError("SCRM_DATA_KEY is not a Fernet key (32 url-safe base64-encoded bytes).") from None


def ensure_key() -> None:
    """Raise DataKeyError unless a usable key is configured."""
    _fernet()


def seal(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def is_sealed(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def unseal(value: str | None) -> str | None:
    """The plaintext of a sealed value; a legacy plaintext value is returned as it is."""
    if not is_sealed(value):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise DataKeyError("a stored secret does not decrypt with SCRM_DATA_KEY (was the key changed?)") from None
