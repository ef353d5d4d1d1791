"""How one environment variable becomes a setting's value (scrm/config.py's Settings fields):
_setting declares a field and its parser; the parsers raise ValueError (or ConfigError) with a
message the loader prefixes with the variable's name."""
from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import MISSING, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from scrm.secret_key import ConfigError, check_secret_key
from scrm.timezone import parse_hhmm, zone_named


def _setting(env: str, default: Any = MISSING, parse: Callable[[str], Any] | None = None) -> Any:
    """A Settings field read from environment variable ``env``; unset or blank means ``default``
    (no default: required). ``parse`` turns the text into the value, raising ValueError with
    what is wrong ("must be ...") or ConfigError."""
    return field(default=default, metadata={"env": env, "parse": parse or str})


def _integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("must be an integer") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a number (seconds)") from None
    if not value > 0:
        raise ValueError("must be positive")
    return value


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a number") from None
    if not value > 0:
        raise ValueError("must be positive")
    return value


def _days(text: str) -> timedelta:
    return timedelta(days=_integer(1)(text))


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text.lower()
    return parse


def _log_level(text: str) -> str:
    if not isinstance(logging.getLevelName(text.upper()), int):
        raise ValueError("must be a logging level (DEBUG, INFO, WARNING, ERROR)")
    return text.upper()


def _zone_name(text: str) -> str:
    try:
        zone_named(text)
    except ValueError:
        raise ValueError("must be an IANA time zone name such as Asia/Shanghai") from None
    return text


def _time_of_day_or_off(name: str):
    """A corp-local "HH:MM" (normalised), or None for off/none/0."""
    def parse(text: str) -> str | None:
        if text.lower() in ("off", "none", "0"):
            return None
        parsed = parse_hhmm(text, loose=True)
        if parsed is None:
            raise ConfigError(f"{name} must be HH:MM (corp local time) or off")
        return f"{parsed[0]:02d}:{parsed[1]:02d}"
    return parse


def _redis_url(text: str) -> str:
    if urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a Redis URL such as redis://127.0.0.1:6379/0")
    return text


def _database_url(text: str) -> str:
    try:
        make_url(text).get_dialect()  # the dialect, not the driver: nothing connects here
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError("must be an SQLAlchemy database URL such as postgresql+psycopg://user:pass@host/db "
                         "or sqlite:///instance/scrm.db") from None
    return text


def _check_secret_key(value: str) -> str:
    check_secret_key(value)  # the one policy (scrm/secret_key.py)
    return value


def _fernet_key(text: str) -> str:
    try:
        valid = len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        valid = False
    if not valid:
        raise ConfigError("SCRM_DATA_KEY must be a Fernet key (32 url-safe base64-encoded bytes): generate one "
                          "with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'")
    return text
