"""The service's settings: one frozen, typed object built from the environment.

This module is the only reader of os.environ for the service's settings, and every default is
defined once, on the Settings field (README: Configuration). create_app() builds the Settings
(load_settings), keeps it as ``app.extensions["scrm.settings"]`` and derives from it what Flask
and its extensions read from app.config (flask_config). Code reads settings with settings():
``settings().public_url``. A missing or malformed value raises ConfigError naming the variable.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app

from scrm import sandbox_corp
from scrm.config_parse import (
    _check_secret_key,
    _choice,
    _database_url,
    _days,
    _fernet_key,
    _integer,
    _log_level,
    _positive_number,
    _redis_url,
    _seconds,
    _setting,
    _time_of_day_or_off,
    _zone_name,
)
from scrm.secret_key import ConfigError

EXTENSION = "scrm.settings"  # app.extensions key of the app's Settings
DB_POOL_SIZE = 16  # database connections a process keeps open at most (plus SQLAlchemy's overflow of 10)

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
DEFAULT_SANDBOX_API_BASE_URL = "http://127.0.0.1:5001/cgi-bin/"  # `python -m sandbox`
DEFAULT_OAUTH_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
DEFAULT_LOGIN_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"  # web login (PROTOCOL.md §4.5)

# The WeCom app of the corp this deployment serves. All of these are required, unless none is
# set: then the service runs in sandbox mode against the built-in WeCom simulator.
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


# ---- the settings -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting of the service, typed. The app's: settings(). Tests change one with
    override(app, NAME=value), NAME being the field's name in capitals."""

    secret_key: str = _setting("SECRET_KEY", parse=_check_secret_key)  # signs sessions, media URLs
    redis_url: str = _setting("REDIS_URL", parse=_redis_url)
    database_url: str = _setting("DATABASE_URL", parse=_database_url)  # default: SQLite, instance/scrm.db
    spool_dir: str = _setting("SCRM_SPOOL_DIR")  # default: instance/spool
    # Fernet key sealing further corps' secrets at rest (`flask scrm corp add`); optional.
    data_key: str | None = _setting("SCRM_DATA_KEY", None, _fernet_key)

    # The env corp's WeCom app; in sandbox mode the simulator's corp (see _wecom_settings).
    sandbox: bool = _setting("SCRM_SANDBOX")
    wecom_corp_id: str = _setting("WECOM_CORP_ID")
    wecom_agent_id: int = _setting("WECOM_AGENT_ID")
    wecom_secret: str = _setting("WECOM_SECRET")
    wecom_token: str = _setting("WECOM_TOKEN")
    wecom_aes_key: str = _setting("WECOM_AES_KEY")
    wecom_api_base_url: str = _setting("WECOM_API_BASE_URL")
    wecom_oauth_url: str = _setting("WECOM_OAUTH_URL")
    wecom_login_url: str = _setting("WECOM_LOGIN_URL")  # the console's WeCom web login page
    wecom_timeout: float = _setting("WECOM_TIMEOUT", 10.0, _seconds)
    # WeCom call budget per corp (scrm/wecom/ratelimit.py).
    wecom_rate_per_minute: int = _setting("SCRM_WECOM_RATE_PER_MINUTE", 8000, _integer(1))
    wecom_rate_per_hour: int = _setting("SCRM_WECOM_RATE_PER_HOUR", 120_000, _integer(1))

    # Callbacks and the inbox (scrm/services/inbox.py).
    callback_max_bytes: int = _setting("SCRM_CALLBACK_MAX_BYTES", 64 * 1024, _integer(1))
    inbox_sweep_after_seconds: int = _setting("SCRM_INBOX_SWEEP_AFTER", 30, _integer(0))
    inbox_lease_seconds: float = _setting("SCRM_INBOX_LEASE_SECONDS", 30.0, _seconds)
    inbox_insert_timeout: float = _setting("SCRM_INBOX_INSERT_TIMEOUT", 1.0, _seconds)
    inbox_payload_retention_days: int = _setting("SCRM_INBOX_PAYLOAD_RETENTION_DAYS", 30, _integer(1))
    audit_retention_days: int = _setting("SCRM_AUDIT_RETENTION_DAYS", 365, _integer(1))

    # The web: links we send staff, the sidebar's session, request bodies, signed media URLs.
    public_url: str = _setting("SCRM_PUBLIC_URL", "http://127.0.0.1:5000", lambda text: text.rstrip("/"))
    sidebar_session_hours: int = _setting("SCRM_SIDEBAR_SESSION_HOURS", 8, _integer(1))
    max_content_length: int = _setting("SCRM_MAX_CONTENT_LENGTH", 2**20, _integer(1))
    # The console (console/, docs/console.md): how long a sign-in lasts, and how many failed
    # password sign-ins a username and an IP address may make in a window before a pause.
    console_session_hours: int = _setting("SCRM_CONSOLE_SESSION_HOURS", 12, _integer(1))
    console_login_max_failures: int = _setting("SCRM_CONSOLE_LOGIN_MAX_FAILURES", 5, _integer(1))
    console_login_max_failures_per_ip: int = _setting("SCRM_CONSOLE_LOGIN_MAX_FAILURES_PER_IP", 30, _integer(1))
    console_login_window_minutes: int = _setting("SCRM_CONSOLE_LOGIN_WINDOW_MINUTES", 15, _integer(1))
    media_url_max_age: timedelta = _setting("SCRM_MEDIA_URL_MAX_AGE_DAYS", timedelta(days=7), _days)

    # Corp-local time: welcome variants, SOP step times, the nightly sync (scrm.timezone).
    timezone: str = _setting("SCRM_TIMEZONE", "Asia/Shanghai", _zone_name)
    nightly_sync_at: str | None = _setting(  # None: off
        "SCRM_NIGHTLY_SYNC_AT", "03:00", _time_of_day_or_off("SCRM_NIGHTLY_SYNC_AT"))
    # Group analytics (scrm/services/group_stats): the nightly rebuild and pull of WeCom's figures.
    group_stats_at: str | None = _setting(  # None: off
        "SCRM_GROUP_STATS_AT", "04:00", _time_of_day_or_off("SCRM_GROUP_STATS_AT"))
    # Churn scoring (scrm/services/churn): the nightly run (signals, WeCom behaviour figures,
    # scores and levels) after this local time; the default days of silence after which a
    # relation is cooling / dormant / lost (a corp's ChurnThreshold rows override them); how many
    # relations a night may re-tag in WeCom when a corp mirrors levels to tags.
    churn_scoring_at: str | None = _setting(  # None: off
        "SCRM_CHURN_SCORING_AT", "04:30", _time_of_day_or_off("SCRM_CHURN_SCORING_AT"))
    # Manager reports (scrm/services/reports): the nightly aggregation after this local time
    # (after the churn run, whose behaviour figures the follow-up report reads).
    reports_at: str | None = _setting(  # None: off
        "SCRM_REPORTS_AT", "05:00", _time_of_day_or_off("SCRM_REPORTS_AT"))
    # The morning digest (scrm/services/digest): managers get yesterday's figures of their team and
    # members their overdue follow-ups at this local time, once yesterday's aggregation is done.
    digest_at: str | None = _setting(  # None: off
        "SCRM_DIGEST_AT", "08:30", _time_of_day_or_off("SCRM_DIGEST_AT"))
    churn_cooling_days: int = _setting("SCRM_CHURN_COOLING_DAYS", 14, _integer(1))
    churn_dormant_days: int = _setting("SCRM_CHURN_DORMANT_DAYS", 30, _integer(1))
    churn_lost_days: int = _setting("SCRM_CHURN_LOST_DAYS", 90, _integer(1))
    churn_mirror_batch: int = _setting("SCRM_CHURN_MIRROR_BATCH", 2000, _integer(0))
    # Recall playbooks (scrm/services/recall): nobody (a staff–customer relation) is recalled twice
    # within the cool-down (a playbook may set its own); a recall is won when the relation
    # re-engages within the window after it was sent; recalls go out at this local time (off: at once).
    recall_cooldown_days: int = _setting("SCRM_RECALL_COOLDOWN_DAYS", 30, _integer(1))
    recall_window_days: int = _setting("SCRM_RECALL_WINDOW_DAYS", 7, _integer(1))
    recall_send_at: str | None = _setting("SCRM_RECALL_SEND_AT", "10:00", _time_of_day_or_off("SCRM_RECALL_SEND_AT"))
    # Churn alerts (scrm/services/churn/alerts, docs/churn-alerts.md): how long a recipient's
    # first pending alert waits for more to send them together; the daily dormant digest's local
    # time; how many customer names one message lists; a member's day is unusual (their manager
    # is told) when its deletions reach ANOMALY_MIN and ANOMALY_MULTIPLE × their 30-day average.
    churn_alert_batch_seconds: int = _setting("SCRM_CHURN_ALERT_BATCH_SECONDS", 20, _integer(0))
    churn_digest_at: str | None = _setting(  # None: off
        "SCRM_CHURN_DIGEST_AT", "09:00", _time_of_day_or_off("SCRM_CHURN_DIGEST_AT"))
    churn_alert_names: int = _setting("SCRM_CHURN_ALERT_NAMES", 10, _integer(1))
    churn_anomaly_min: int = _setting("SCRM_CHURN_ANOMALY_MIN", 5, _integer(1))
    churn_anomaly_multiple: float = _setting("SCRM_CHURN_ANOMALY_MULTIPLE", 3.0, _positive_number)
    # Group SOPs (scrm/services/group_sop): how far ahead executions are created (the calendar
    # shows them), and WeCom's per-group monthly receive cap for mass sends (0: the number of
    # days in the month, WeCom's default; set what the corp chose in 群发助手 → 设置群发规则).
    group_sop_horizon_days: int = _setting("SCRM_GROUP_SOP_HORIZON_DAYS", 7, _integer(1))
    group_monthly_cap: int = _setting("SCRM_GROUP_MONTHLY_CAP", 0, _integer(0))
    # How often (minutes) the group-sop sweep plans: the new-member and new-group series for the
    # rows written since, the fixed plans' re-planning. Due executions are claimed every minute.
    # Default 10, 1 in sandbox mode (load_settings): trying a series there should not mean waiting.
    group_sop_plan_minutes: int = _setting("SCRM_GROUP_SOP_PLAN_MINUTES", 10, _integer(1, 30))
    # Mass messages to customers (scrm/services/mass_messages): how many a customer may receive in a
    # corp-local month (0: the number of days in the month, WeCom's default; set the corp's rule).
    customer_monthly_cap: int = _setting("SCRM_CUSTOMER_MONTHLY_CAP", 0, _integer(0))
    # Handovers (scrm/services/handover): how successors are proposed when a member leaves
    # (manager: their department leader, else workload; workload: the fewest active customers in
    # the leaver's department), and how often a waiting transfer's result is asked for.
    handover_rule: str = _setting("SCRM_HANDOVER_RULE", "manager", _choice("manager", "workload"))
    handover_poll_minutes: int = _setting("SCRM_HANDOVER_POLL_MINUTES", 30, _integer(1))
    sync_concurrency: int = _setting("SCRM_SYNC_CONCURRENCY", 16, _integer(1))
    # The welcome process's sender threads: welcomes in flight at once. Each mostly waits on two
    # WeCom calls (~250-350 ms under load), so 200 adds a second need ~70; they never touch the database.
    welcome_worker_threads: int = _setting("SCRM_WELCOME_THREADS", 128, _integer(1))
    # /metrics (Prometheus): with a token, only `Authorization: Bearer <token>`; without one,
    # only direct requests from loopback or private addresses (scrm/api/metrics.py).
    metrics_token: str | None = _setting("SCRM_METRICS_TOKEN", None)
    log_level: str = _setting("LOG_LEVEL", "INFO", _log_level)
    log_format: str = _setting("LOG_FORMAT", "json", _choice("json", "text"))
    # RQ's own lines (a worker started, each job started and finished): WARNING keeps a start-up
    # of many worker threads to one line per process (scrm.worker logs that); INFO shows every job.
    rq_log_level: str = _setting("SCRM_RQ_LOG_LEVEL", "WARNING", _log_level)


_SPECS = {spec.name: spec for spec in fields(Settings)}
# Override keys (create_app's test_config, override()): each field's name in capitals, and the
# database URL under Flask-SQLAlchemy's name too.
_OVERRIDE_KEYS = {name.upper(): name for name in _SPECS} | {"SQLALCHEMY_DATABASE_URI": "database_url"}


# What to do about a missing required setting, beyond .env.example.
_REQUIRED_HINTS = {
    "SECRET_KEY": "`make run` puts one in the .env it creates; or generate one: "
                  "python -c 'import secrets; print(secrets.token_hex(32))'",
    "REDIS_URL": "while `make run` runs, `flask` reads its embedded Redis's URL from .env; otherwise set it, "
                 "e.g. REDIS_URL=redis://127.0.0.1:6379/0",
}


def _shown(text: str) -> str:
    """A setting's value as an error message may show it: a URL's password masked."""
    parts = urlsplit(text)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
    return text


def _read(env: Mapping[str, str], spec: Any) -> Any:
    name = spec.metadata["env"]
    text = (env.get(name) or "").strip()
    if not text:
        if spec.default is MISSING:
            hint = f": {_REQUIRED_HINTS[name]}" if name in _REQUIRED_HINTS else ""
            raise ConfigError(f"Missing required environment variable {name} (see .env.example){hint}")
        return spec.default
    try:
        return spec.metadata["parse"](text)
    except ValueError as exc:
        raise ConfigError(f"{name} {exc} (got {_shown(text)!r})") from None


def load_settings(env: Mapping[str, str] | None = None, instance_path: str = "instance") -> Settings:
    """The settings from ``env`` (default: os.environ); files default to ``instance_path``."""
    env = os.environ if env is None else env
    instance = os.path.abspath(instance_path)
    computed: dict[str, Any] = {
        "database_url": (_read(env, _SPECS["database_url"]) if (env.get("DATABASE_URL") or "").strip()
                         else "sqlite:///" + os.path.join(instance, "scrm.db")),
        "spool_dir": env.get("SCRM_SPOOL_DIR") or os.path.join(instance, "spool"),
        **_wecom_settings(env),
    }
    computed["group_sop_plan_minutes"] = (_read(env, _SPECS["group_sop_plan_minutes"])
                                          if (env.get("SCRM_GROUP_SOP_PLAN_MINUTES") or "").strip()
                                          else 1 if computed["sandbox"] else 10)
    return Settings(**{name: _read(env, spec) for name, spec in _SPECS.items() if name not in computed}, **computed)


def sandbox_mode(env: Mapping[str, str]) -> bool:
    """SCRM_SANDBOX=auto (default): sandbox when no WECOM_* credential is set; 1: always; 0: never
    (then missing credentials are an error, as a production deployment wants)."""
    switch = (env.get("SCRM_SANDBOX") or "auto").strip().lower()
    if switch not in ("auto", "0", "1"):
        raise ConfigError("SCRM_SANDBOX must be auto, 0 or 1")
    if switch == "auto":
        return not any((env.get(name) or "").strip() for name in WECOM_REQUIRED)
    return switch == "1"


def _sandbox_page(api_base_url: str, path: str) -> str:
    """A page of the simulator (OAuth2 authorize, web login): same origin as its API."""
    parts = urlsplit(api_base_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _wecom_settings(env: Mapping[str, str]) -> dict[str, Any]:
    if sandbox_mode(env):
        real = [name for name in WECOM_REQUIRED if (env.get(name) or "").strip()]
        if real and env.get("WECOM_CORP_ID", sandbox_corp.SANDBOX_CORP_ID) != sandbox_corp.SANDBOX_CORP_ID:
            raise ConfigError(f"SCRM_SANDBOX=1 but real WeCom credentials are set ({', '.join(real)})")
        api_base = env.get("WECOM_API_BASE_URL") or DEFAULT_SANDBOX_API_BASE_URL
        return {
            "sandbox": True, "wecom_corp_id": sandbox_corp.SANDBOX_CORP_ID,
            "wecom_agent_id": sandbox_corp.SANDBOX_AGENT_ID, "wecom_secret": sandbox_corp.SANDBOX_SECRET,
            "wecom_token": sandbox_corp.SANDBOX_TOKEN, "wecom_aes_key": sandbox_corp.SANDBOX_AES_KEY,
            "wecom_api_base_url": api_base,
            "wecom_oauth_url": env.get("WECOM_OAUTH_URL") or _sandbox_page(api_base, "/connect/oauth2/authorize"),
            "wecom_login_url": env.get("WECOM_LOGIN_URL") or _sandbox_page(api_base, "/wwlogin/sso/login"),
        }
    values: dict[str, Any] = {name.lower(): _read(env, _SPECS[name.lower()]) for name in WECOM_REQUIRED}
    try:
        values["wecom_agent_id"] = int(values["wecom_agent_id"])
    except ValueError:
        raise ConfigError("WECOM_AGENT_ID must be an integer (the app's AgentId)") from None
    if len(values["wecom_aes_key"]) != 43:
        raise ConfigError("WECOM_AES_KEY must be the 43-character EncodingAESKey")
    values["sandbox"] = False
    values["wecom_api_base_url"] = env.get("WECOM_API_BASE_URL") or DEFAULT_API_BASE_URL
    values["wecom_oauth_url"] = env.get("WECOM_OAUTH_URL") or DEFAULT_OAUTH_URL
    values["wecom_login_url"] = env.get("WECOM_LOGIN_URL") or DEFAULT_LOGIN_URL
    return values


# ---- the app's settings -----------------------------------------------------------------------

def flask_config(settings: Settings) -> dict[str, Any]:
    """What Flask and its extensions read from app.config, derived from the settings."""
    return {
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        # No pre-ping (a round trip per request on the callback hot path): a connection that went
        # stale fails its statement instead; the callback view then spools, a job retries.
        # pool_size: connections open on demand, but only this many are kept; a threaded worker
        # would otherwise open and close a PostgreSQL backend for most of its jobs. The welcome
        # process's senders never touch the database (its dispatcher and settler do, and at most
        # DB_POOL_SIZE - 2 jobs run one by one at once: scrm/welcome_worker.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800,
                                      "pool_size": min(max(5, settings.welcome_worker_threads), DB_POOL_SIZE),
                                      "hide_parameters": True},
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        # The sidebar's staff session (sidebar/auth.py) and its cookie, which must work inside the
        # WeCom webview and inside the sandbox chat window's iframe (same site, so Lax is enough).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.sidebar_session_hours),
        "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.public_url.startswith("https://"),
        # The session ends at its own "exp" (set at sign-in, never slid), so re-signing and
        # re-sending an unchanged cookie on every sidebar request would only cost CPU.
        "SESSION_REFRESH_EACH_REQUEST": False,
    }


def install(app: Flask, settings: Settings, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Make ``settings`` the app's and fill app.config from them. ``overrides`` (create_app's
    test_config): keys naming a setting replace it, any other key goes to app.config as is."""
    overrides = dict(overrides or {})
    changes = {_OVERRIDE_KEYS[key]: overrides.pop(key) for key in list(overrides) if key in _OVERRIDE_KEYS}
    settings = replace(settings, **changes)
    app.extensions[EXTENSION] = settings
    app.config.update(flask_config(settings))
    app.config.update(overrides)
    return settings


def override(app: Flask, **values: Any) -> Settings:
    """Change some of the app's settings, e.g. override(app, SANDBOX=True) (tests)."""
    unknown = sorted(set(values) - set(_OVERRIDE_KEYS))
    if unknown:
        raise KeyError(f"not settings: {', '.join(unknown)}")
    return install(app, app.extensions[EXTENSION], values)


def settings(app: Flask | None = None) -> Settings:
    """The settings of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]
