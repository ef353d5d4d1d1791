"""The only reader of os.environ. Builds the Flask config from the environment."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"

# The WeCom app of the corp this deployment serves. All of these are required.
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
        "WECOM_API_BASE_URL": env.get("WECOM_API_BASE_URL") or DEFAULT_API_BASE_URL,
        "WECOM_TIMEOUT": float(env.get("WECOM_TIMEOUT", "10")),
        "SPOOL_DIR": env.get("SCRM_SPOOL_DIR") or os.path.join(os.path.abspath(instance_path), "spool"),
        "CALLBACK_MAX_BYTES": int(env.get("SCRM_CALLBACK_MAX_BYTES", str(64 * 1024))),
        "INBOX_SWEEP_AFTER_SECONDS": int(env.get("SCRM_INBOX_SWEEP_AFTER", "30")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
    }
    for name in WECOM_REQUIRED:
        config[name] = _require(env, name)
    try:
        config["WECOM_AGENT_ID"] = int(config["WECOM_AGENT_ID"])
    except ValueError:
        raise ConfigError("WECOM_AGENT_ID must be an integer (the app's AgentId)") from None
    if len(config["WECOM_AES_KEY"]) != 43:
        raise ConfigError("WECOM_AES_KEY must be the 43-character EncodingAESKey")
    return config
