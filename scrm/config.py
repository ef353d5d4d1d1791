"""The only reader of os.environ. Builds the Flask config from the environment."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from scrm import sandbox_corp as sandbox

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
DEFAULT_SANDBOX_API_BASE_URL = "http://127.0.0.1:5001/cgi-bin/"  # `python -m scrm.sandbox`
DEFAULT_OAUTH_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"

# The WeCom app of the corp this deployment serves. All of these are required, unless none is
# set: then the service runs in sandbox mode against the built-in WeCom simulator.
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable."""


def _require(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigError(f"Missing required environment variable {name} (see .env.example)")
    return value


def load_config(env: Mapping[str, str] | None = None, instance_path: str = "instance") -> dict[str, Any]:
    env = os.environ if env is None else env
    config: dict[str, Any] = {
        "SECRET_KEY": _require(env, "SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL")
        or "sqlite:///" + os.path.join(os.path.abspath(instance_path), "scrm.db"),
        "REDIS_URL": _require(env, "REDIS_URL"),
        "WECOM_TIMEOUT": float(env.get("WECOM_TIMEOUT", "10")),
        "SPOOL_DIR": env.get("SCRM_SPOOL_DIR") or os.path.join(os.path.abspath(instance_path), "spool"),
        "CALLBACK_MAX_BYTES": int(env.get("SCRM_CALLBACK_MAX_BYTES", str(64 * 1024))),
        "INBOX_SWEEP_AFTER_SECONDS": int(env.get("SCRM_INBOX_SWEEP_AFTER", "30")),
        # The web's inbox insert gives up (and spools) after this long; a worker's claim on an
        # inbox row lasts this long unless renewed (a dead worker's row is retried after it).
        "INBOX_INSERT_TIMEOUT": float(env.get("SCRM_INBOX_INSERT_TIMEOUT", "1")),
        "INBOX_CLAIM_SECONDS": float(env.get("SCRM_INBOX_CLAIM_SECONDS", "30")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "LOG_FORMAT": env.get("LOG_FORMAT", "json"),  # json | text
        # Welcome variants and SOP times ("day 1 at 10:00") are in the corp's local time.
        "TIMEZONE": env.get("SCRM_TIMEZONE", "Asia/Shanghai"),
        # Absolute base URL for links we send staff (SOP reminder cards → the sidebar).
        "PUBLIC_URL": (env.get("SCRM_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "WELCOME_WORKER_THREADS": int(env.get("SCRM_WELCOME_THREADS", "32")),
    }
    config.update(_session_settings(env, config["PUBLIC_URL"]))
    config.update(_wecom_settings(env))
    config.update(_sync_settings(env))
    return config


def _session_settings(env: Mapping[str, str], public_url: str) -> dict[str, Any]:
    """The sidebar's staff session (sidebar/auth.py) and its cookie, which must work inside the
    WeCom webview and inside the sandbox chat window's iframe (same site, so Lax is enough)."""
    try:
        hours = int(env.get("SCRM_SIDEBAR_SESSION_HOURS", "8"))
    except ValueError:
        raise ConfigError("SCRM_SIDEBAR_SESSION_HOURS must be an integer (hours)") from None
    if hours < 1:
        raise ConfigError("SCRM_SIDEBAR_SESSION_HOURS must be positive")
    return {"SIDEBAR_SESSION_HOURS": hours, "PERMANENT_SESSION_LIFETIME": timedelta(hours=hours),
            "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": public_url.startswith("https://")}


def _sandbox_oauth_url(api_base_url: str) -> str:
    """The simulator's OAuth2 authorize page: same origin as its API."""
    parts = urlsplit(api_base_url)
    return f"{parts.scheme}://{parts.netloc}/connect/oauth2/authorize"


def _sync_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """WeCom call budget (scrm/wecom/ratelimit.py) and synchronisation (scrm/services/sync)."""
    at = (env.get("SCRM_NIGHTLY_SYNC_AT") or "03:00").strip().lower()
    if at in ("off", "none", "0"):
        nightly = None
    else:
        hour, _, minute = at.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ConfigError("SCRM_NIGHTLY_SYNC_AT must be HH:MM (corp local time) or off")
        nightly = f"{int(hour):02d}:{int(minute):02d}"
    try:
        values = {name: int(env.get(var, default)) for name, var, default in (
            ("WECOM_RATE_PER_MINUTE", "SCRM_WECOM_RATE_PER_MINUTE", "8000"),
            ("WECOM_RATE_PER_HOUR", "SCRM_WECOM_RATE_PER_HOUR", "120000"),
            ("SYNC_CONCURRENCY", "SCRM_SYNC_CONCURRENCY", "16"))}
    except ValueError as exc:
        raise ConfigError(f"SCRM_WECOM_RATE_PER_MINUTE, SCRM_WECOM_RATE_PER_HOUR and "
                          f"SCRM_SYNC_CONCURRENCY must be integers ({exc})") from None
    if min(values.values()) < 1:
        raise ConfigError("SCRM_WECOM_RATE_PER_* and SCRM_SYNC_CONCURRENCY must be positive")
    return {"NIGHTLY_SYNC_AT": nightly, **values}


def sandbox_mode(env: Mapping[str, str]) -> bool:
    """SCRM_SANDBOX=auto (default): sandbox when no WECOM_* credential is set; 1: always; 0: never
    (then missing credentials are an error, as a production deployment wants)."""
    switch = (env.get("SCRM_SANDBOX") or "auto").strip().lower()
    if switch not in ("auto", "0", "1"):
        raise ConfigError("SCRM_SANDBOX must be auto, 0 or 1")
    if switch == "auto":
        return not any((env.get(name) or "").strip() for name in WECOM_REQUIRED)
    return switch == "1"


def _wecom_settings(env: Mapping[str, str]) -> dict[str, Any]:
    if sandbox_mode(env):
        real = [name for name in WECOM_REQUIRED if (env.get(name) or "").strip()]
        if real and env.get("WECOM_CORP_ID", sandbox.SANDBOX_CORP_ID) != sandbox.SANDBOX_CORP_ID:
            raise ConfigError(f"SCRM_SANDBOX=1 but real WeCom credentials are set ({', '.join(real)})")
        api_base = env.get("WECOM_API_BASE_URL") or DEFAULT_SANDBOX_API_BASE_URL
        return {
            "SANDBOX": True, "WECOM_CORP_ID": sandbox.SANDBOX_CORP_ID,
            "WECOM_AGENT_ID": sandbox.SANDBOX_AGENT_ID, "WECOM_SECRET": sandbox.SANDBOX_SECRET,
            "WECOM_TOKEN": sandbox.SANDBOX_TOKEN, "WECOM_AES_KEY": sandbox.SANDBOX_AES_KEY,
            "WECOM_API_BASE_URL": api_base,
            "WECOM_OAUTH_URL": env.get("WECOM_OAUTH_URL") or _sandbox_oauth_url(api_base),
        }
    settings: dict[str, Any] = {name: _require(env, name) for name in WECOM_REQUIRED}
    try:
        settings["WECOM_AGENT_ID"] = int(settings["WECOM_AGENT_ID"])
    except ValueError:
        raise ConfigError("WECOM_AGENT_ID must be an integer (the app's AgentId)") from None
    if len(settings["WECOM_AES_KEY"]) != 43:
        raise ConfigError("WECOM_AES_KEY must be the 43-character EncodingAESKey")
    settings["SANDBOX"] = False
    settings["WECOM_API_BASE_URL"] = env.get("WECOM_API_BASE_URL") or DEFAULT_API_BASE_URL
    settings["WECOM_OAUTH_URL"] = env.get("WECOM_OAUTH_URL") or DEFAULT_OAUTH_URL
    return settings
