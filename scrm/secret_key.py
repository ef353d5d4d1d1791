"""Start-up check of SECRET_KEY: it signs the sidebar's session cookies, so a short or
well-known value lets anyone forge a staff session."""
from __future__ import annotations

MIN_LENGTH = 32

# Values that appear in templates, tutorials and our own .env.example.
PLACEHOLDERS = frozenset({
    "change-me", "changeme", "change_me", "changethis", "change-this", "secret", "secret-key",
    "secretkey", "secret_key", "dev", "development", "test", "testing", "default", "password",
    "your-secret-key", "your_secret_key", "yoursecretkey", "please-change-me", "insecure",
    "not-a-secret", "xxx",
})


class ConfigError(RuntimeError):
    """A setting is missing or malformed, or one the service refuses to start with; the message
    names the variable. (Defined here, below scrm.config, so this check imports nothing.)"""


def check_secret_key(value: str | None) -> None:
    """Raise ConfigError unless ``value`` is a plausible random secret (≥ 32 characters and not
    a known placeholder, nor a placeholder padded by repetition)."""
    if not value:
        raise ConfigError("SECRET_KEY is not set: generate one with "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`.")
    normalised = value.strip().lower()
    if normalised in PLACEHOLDERS or len(set(normalised)) <= 2:
        raise ConfigError("SECRET_KEY is a known placeholder: generate a random one with "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`.")
    if len(value) < MIN_LENGTH:
        raise ConfigError(f"SECRET_KEY is too short ({len(value)} characters; at least {MIN_LENGTH}): "
                          "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`.")
