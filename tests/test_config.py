"""The settings: one frozen, typed object from the environment (scrm/config.py), every default
defined once, ConfigError naming the variable, the app's settings and its Flask config."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import responses
from dotenv import dotenv_values

from scrm import timezone as tz
from scrm.config import DB_POOL_SIZE, ConfigError, Settings, flask_config, load_settings, override, settings
from scrm.services import localtime
from tests.conftest import TEST_AES_KEY, WECOM_BASE

ROOT = Path(__file__).resolve().parent.parent
KEY = "config-test-secret-key-0123456789abcdef"
BASE_ENV = {"SECRET_KEY": KEY, "REDIS_URL": "redis://localhost/0", "WECOM_CORP_ID": "ww1",
            "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s", "WECOM_TOKEN": "t", "WECOM_AES_KEY": TEST_AES_KEY}
SANDBOX_ENV = {"SECRET_KEY": KEY, "REDIS_URL": "redis://localhost/0"}


# ---- from the environment ----------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["SECRET_KEY", "REDIS_URL", "WECOM_CORP_ID", "WECOM_AGENT_ID",
                                     "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY"])
def test_missing_required_setting_names_the_variable(missing):
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=f"Missing required environment variable {missing} "):
        load_settings(env)


def test_no_wecom_credentials_means_sandbox_mode():
    from scrm import sandbox_corp

    config = load_settings(SANDBOX_ENV)
    assert config.sandbox is True
    assert config.wecom_corp_id == sandbox_corp.SANDBOX_CORP_ID
    assert config.wecom_token == sandbox_corp.SANDBOX_TOKEN
    assert config.wecom_api_base_url == "http://127.0.0.1:5001/cgi-bin/"
    assert load_settings({**SANDBOX_ENV, "WECOM_API_BASE_URL": "http://127.0.0.1:7001/cgi-bin/"}
                         ).wecom_api_base_url == "http://127.0.0.1:7001/cgi-bin/"
    assert load_settings(BASE_ENV).sandbox is False


def test_sandbox_can_be_forbidden_and_is_never_mixed_with_real_credentials():
    with pytest.raises(ConfigError, match="WECOM_CORP_ID"):
        load_settings({**SANDBOX_ENV, "SCRM_SANDBOX": "0"})
    with pytest.raises(ConfigError, match="real WeCom credentials"):
        load_settings({**BASE_ENV, "SCRM_SANDBOX": "1"})
    with pytest.raises(ConfigError, match="SCRM_SANDBOX"):
        load_settings({**SANDBOX_ENV, "SCRM_SANDBOX": "maybe"})


def test_defaults_and_overrides(tmp_path):
    config = load_settings(BASE_ENV, instance_path=str(tmp_path))
    assert config.database_url == f"sqlite:///{tmp_path}/scrm.db"
    assert config.spool_dir == f"{tmp_path}/spool"
    assert config.wecom_api_base_url == "https://qyapi.weixin.qq.com/cgi-bin/"
    assert config.wecom_agent_id == 1000002
    config = load_settings({**BASE_ENV, "WECOM_API_BASE_URL": "http://127.0.0.1:9/cgi-bin/",
                            "DATABASE_URL": "postgresql+psycopg://x@h/db"})
    assert config.wecom_api_base_url == "http://127.0.0.1:9/cgi-bin/"
    assert config.database_url == "postgresql+psycopg://x@h/db"


def test_every_default_is_the_settings_field_default():
    config = load_settings(BASE_ENV)
    for spec in dataclasses.fields(Settings):
        if spec.default is not dataclasses.MISSING:
            assert getattr(config, spec.name) == spec.default, spec.name
    assert (config.timezone, config.welcome_worker_threads, config.nightly_sync_at) == ("Asia/Shanghai", 128, "03:00")
    assert (config.inbox_payload_retention_days, config.audit_retention_days, config.data_key) == (30, 365, None)
    assert (config.media_url_max_age, config.max_content_length) == (timedelta(days=7), 2**20)
    assert (config.inbox_lease_seconds, config.inbox_insert_timeout) == (30, 1.0)
    # The pool keeps DB_POOL_SIZE connections: the welcome process's 128 senders never touch the database.
    assert flask_config(config)["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == DB_POOL_SIZE == 16
    assert flask_config(load_settings({**BASE_ENV, "SCRM_WELCOME_THREADS": "2"}))[
        "SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 5


def test_the_new_settings_are_read_from_the_environment():
    data_key = "9wT7uQ2xB3lK8pZr4vY6mN1cE5sA0dJhGfXoLiWqRtU="  # a Fernet key (32 bytes, url-safe base64)
    config = load_settings({**BASE_ENV, "SCRM_INBOX_PAYLOAD_RETENTION_DAYS": "7", "SCRM_AUDIT_RETENTION_DAYS": "730",
                            "SCRM_DATA_KEY": data_key, "SCRM_MEDIA_URL_MAX_AGE_DAYS": "2",
                            "SCRM_MAX_CONTENT_LENGTH": "4096", "SCRM_INBOX_LEASE_SECONDS": "10",
                            "SCRM_INBOX_INSERT_TIMEOUT": "0.5", "SCRM_TIMEZONE": "Europe/Berlin",
                            "SCRM_WELCOME_THREADS": "4", "LOG_LEVEL": "debug", "LOG_FORMAT": "text"})
    assert (config.inbox_payload_retention_days, config.audit_retention_days, config.data_key) == (7, 730, data_key)
    assert (config.media_url_max_age, config.max_content_length) == (timedelta(days=2), 4096)
    assert (config.inbox_lease_seconds, config.inbox_insert_timeout, config.timezone) == (10, 0.5, "Europe/Berlin")
    assert (config.welcome_worker_threads, config.log_level, config.log_format) == (4, "DEBUG", "text")
    assert flask_config(config)["MAX_CONTENT_LENGTH"] == 4096


def test_malformed_settings_are_rejected():
    with pytest.raises(ConfigError, match="WECOM_AGENT_ID"):
        load_settings({**BASE_ENV, "WECOM_AGENT_ID": "abc"})
    with pytest.raises(ConfigError, match="WECOM_AES_KEY"):
        load_settings({**BASE_ENV, "WECOM_AES_KEY": "short"})


@pytest.mark.parametrize("name, value", [
    ("SCRM_WELCOME_THREADS", "many"), ("SCRM_WELCOME_THREADS", "0"), ("WECOM_TIMEOUT", "soon"),
    ("WECOM_TIMEOUT", "0"), ("SCRM_CALLBACK_MAX_BYTES", "64k"), ("SCRM_WECOM_RATE_PER_MINUTE", "-1"),
    ("SCRM_SYNC_CONCURRENCY", "0"), ("SCRM_INBOX_PAYLOAD_RETENTION_DAYS", "0"), ("SCRM_AUDIT_RETENTION_DAYS", "1y"),
    ("SCRM_MEDIA_URL_MAX_AGE_DAYS", "0"), ("SCRM_MAX_CONTENT_LENGTH", "1M"), ("SCRM_INBOX_LEASE_SECONDS", "0"),
    ("SCRM_INBOX_INSERT_TIMEOUT", "-1"), ("SCRM_TIMEZONE", "Asia/Shangai"), ("SCRM_TIMEZONE", "../etc/passwd"),
    ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"), ("SCRM_DATA_KEY", "not-a-fernet-key"),
    ("SCRM_SIDEBAR_SESSION_HOURS", "0"), ("SCRM_NIGHTLY_SYNC_AT", "24:00"),
])
def test_a_malformed_value_is_one_clear_line_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=f"^{name} ") as raised:
        load_settings({**BASE_ENV, name: value})
    assert "\n" not in str(raised.value)


def test_a_blank_value_means_the_default():
    assert load_settings({**BASE_ENV, "SCRM_WELCOME_THREADS": " ", "SCRM_TIMEZONE": ""}).welcome_worker_threads == 128


# ---- SECRET_KEY policy -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["change-me", "changeme", "CHANGEME", "secret", "dev", "test", "k",
                                   "short-but-not-a-placeholder-31c"])
def test_start_up_refuses_a_short_or_placeholder_secret_key(value):
    with pytest.raises(ConfigError, match="^SECRET_KEY is (a known placeholder|too short)") as raised:
        load_settings({**BASE_ENV, "SECRET_KEY": value})
    assert repr(value) not in str(raised.value)  # never echoed
    assert "\n" not in str(raised.value)


def test_the_env_example_placeholder_is_refused_and_a_generated_key_is_taken():
    placeholder = dotenv_values(ROOT / ".env.example")["SECRET_KEY"]
    with pytest.raises(ConfigError, match="SECRET_KEY is a known placeholder"):
        load_settings({**BASE_ENV, "SECRET_KEY": placeholder})
    generated = "0123456789abcdef" * 2
    assert load_settings({**BASE_ENV, "SECRET_KEY": generated}).secret_key == generated


def test_create_app_refuses_a_short_secret_key(_env, monkeypatch):
    from scrm.app import create_app

    monkeypatch.setenv("SECRET_KEY", "test-secret-key")  # the suite's key before this check
    with pytest.raises(ConfigError, match="SECRET_KEY is too short"):
        create_app({"TESTING": True})


def test_flask_commands_print_one_line_for_a_bad_setting():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SCRM_ENV_FILE")}
    env["FLASK_SKIP_DOTENV"] = "1"  # a checkout's own .env (after `make run`) has a SECRET_KEY
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "tick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == ("Configuration error: Missing required environment variable SECRET_KEY "
                                     "(see .env.example): `make run` puts one in the .env it creates; or generate "
                                     "one: python -c 'import secrets; print(secrets.token_hex(32))'")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("REDIS_URL", "", "Missing required environment variable REDIS_URL (see .env.example): while `make run` "
                      "runs, `flask` reads its embedded Redis's URL from .env"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL must be a Redis URL such as redis://127.0.0.1:6379/0"),
    ("DATABASE_URL", "postgres://u@h/db", "DATABASE_URL must be an SQLAlchemy database URL"),
    ("DATABASE_URL", "not a url", "DATABASE_URL must be an SQLAlchemy database URL"),
])
def test_a_missing_or_malformed_url_is_a_configuration_error(name, value, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({**SANDBOX_ENV, name: value})
    assert str(raised.value).startswith(message)


def test_a_malformed_url_is_reported_without_its_password():
    with pytest.raises(ConfigError) as raised:
        load_settings({**SANDBOX_ENV, "DATABASE_URL": "postgres://scrm:s3cr3t-pw@db.internal/scrm"})
    assert "s3cr3t-pw" not in str(raised.value) and "postgres://scrm:***@db.internal/scrm" in str(raised.value)


def test_gunicorn_stops_on_a_bad_setting_with_one_line_not_a_traceback():
    from sandbox.embedded_redis import free_port

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SCRM_ENV_FILE")}
    result = subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{free_port()}",
                             "--workers", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0  # the master stops instead of booting workers forever
    output = result.stdout + result.stderr
    assert "Configuration error: Missing required environment variable SECRET_KEY" in output
    assert "Traceback" not in output


# ---- the app's settings ------------------------------------------------------------------------

def test_the_app_holds_one_frozen_settings_object_and_flask_reads_what_it_derives(app):
    config = settings()
    assert config is app.extensions["scrm.settings"] is settings(app)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.public_url = "https://elsewhere.example"  # type: ignore[misc]
    assert app.config["SECRET_KEY"] == config.secret_key
    assert app.config["SQLALCHEMY_DATABASE_URI"] == config.database_url
    assert app.config["MAX_CONTENT_LENGTH"] == 2**20
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    assert app.config["TESTING"] is True  # a Flask-only key of test_config
    assert "REDIS_URL" not in app.config and "WELCOME_WORKER_THREADS" not in app.config


def test_test_config_keys_naming_a_setting_replace_it(_env, redis_url):
    from scrm.app import create_app

    app = create_app({"REDIS_URL": redis_url, "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent/x.db",
                      "PUBLIC_URL": "https://scrm.example.com", "TESTING": True})
    assert settings(app).redis_url == redis_url
    assert settings(app).database_url == app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////nonexistent/x.db"
    assert app.config["SESSION_COOKIE_SECURE"] is True  # derived from the replaced PUBLIC_URL
    assert override(app, SIDEBAR_SESSION_HOURS=2).sidebar_session_hours == settings(app).sidebar_session_hours == 2
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    with pytest.raises(KeyError, match="PUBLIK_URL"):
        override(app, PUBLIK_URL="https://typo.example")


def test_a_request_body_over_max_content_length_is_refused_but_media_uploads_may_be_larger(app, client, wecom):
    from tests.api.factories import gen_token

    headers = {"Authorization": f"Bearer {gen_token()}"}
    big = client.post("/api/v1/welcome-templates", headers=headers, data=b"{" + b" " * 2**20 + b"}",
                      content_type="application/json")
    assert big.status_code == 413
    wecom.add(responses.POST, WECOM_BASE + "media/upload",
              json={"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "M1", "created_at": "1700000000"})
    image = b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 2**20)
    upload = client.post("/api/v1/media", headers=headers, content_type="multipart/form-data",
                         data={"kind": "image", "file": (io.BytesIO(image), "big.png")})
    assert upload.status_code == 201, upload.get_data(as_text=True)


# ---- time zone and time of day -----------------------------------------------------------------

def test_one_hhmm_parser_strict_for_stored_times_loose_for_the_environment():
    assert tz.parse_hhmm("09:30") == (9, 30) and tz.parse_hhmm("23:59") == (23, 59)
    for bad in ("9:30", " 9:30", "+9:30", "24:00", "12:60", "0930", "", None, 930):
        assert tz.parse_hhmm(bad) is None, bad
    assert tz.parse_hhmm("4:5", loose=True) == (4, 5)
    assert tz.parse_hhmm("004:05", loose=True) is None


def test_the_configured_zone_is_the_one_every_local_time_uses(app, runner):
    def nightly_started(now: str) -> int:
        result = runner.invoke(args=["scrm", "tick", "--now", now])
        return json.loads(result.output)["nightly-sync"]

    midnight_utc = datetime(2030, 1, 2)
    assert localtime.to_local(midnight_utc).utcoffset() == timedelta(hours=8)  # Asia/Shanghai
    assert nightly_started("2030-01-01T16:30:00+00:00") == 0  # 00:30 in Shanghai: not yet 03:00
    override(app, TIMEZONE="UTC")
    assert localtime.to_local(midnight_utc).utcoffset() == timedelta(0)
    assert localtime.at_local(midnight_utc.date(), "03:00") == datetime(2030, 1, 2, 3)
    assert nightly_started("2030-01-01T16:30:00+00:00") == 1  # 16:30 UTC: the nightly sync (03:00) is due


def test_without_a_time_zone_database_the_zone_is_utc_plus_8(monkeypatch):
    monkeypatch.setattr(tz, "available_timezones", set)
    tz.zone_named.cache_clear()
    try:
        assert tz.zone_named("Nowhere/Atlantis") is tz.NO_DATABASE_FALLBACK
        assert load_settings({**BASE_ENV, "SCRM_TIMEZONE": "Nowhere/Atlantis"}).timezone == "Nowhere/Atlantis"
    finally:
        tz.zone_named.cache_clear()


# ---- one reader --------------------------------------------------------------------------------

SOURCES = [p for top in ("scrm", "callbacks", "sidebar", "jobs") for p in (ROOT / top).rglob("*.py")]
# The development tools (the simulator and the dev stack) have their own, non-service settings.
DEV_TOOLS = ("scrm/config.py",)
# One-off inputs of a CLI command (never a setting) say so on their line.
NOT_A_SETTING = "# one-off CLI input, not a setting"


def test_only_the_settings_read_the_environment_or_the_config_dict():
    offenders = []
    for path in SOURCES:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(DEV_TOOLS):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if NOT_A_SETTING in line:
                continue
            if re.search(r"os\.environ|getenv\(|config\.get\(|config\[", code):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
