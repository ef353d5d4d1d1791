"""Start-up refuses a SECRET_KEY that is short or a known placeholder (issue #10, security 6)."""
from __future__ import annotations

import secrets

import pytest

from scrm.secret_key import ConfigError, check_secret_key


@pytest.mark.parametrize("value", [
    None, "", "k", "change-me", "changeme", "secret", "dev", "test-secret-key",
    "x" * 40, "ab" * 20, "0123456789abcdef0123456789abcde",  # 31 characters
])
def test_refused(value):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_secret_key(value)


def test_env_example_placeholder_refused():
    from pathlib import Path

    line = next(line for line in (Path(__file__).parents[1] / ".env.example").read_text().splitlines()
                if line.startswith("SECRET_KEY="))
    with pytest.raises(ConfigError):
        check_secret_key(line.partition("=")[2])


@pytest.mark.parametrize("value", [secrets.token_hex(32), secrets.token_urlsafe(32),
                                   "test-secret-key-0123456789abcdef-0123456789"])
def test_random_key_accepted(value):
    check_secret_key(value)
