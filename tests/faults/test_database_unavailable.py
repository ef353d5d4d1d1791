"""While the database cannot take the inbox insert, the callback view gives up within about a
second and spools, so WeCom gets its acknowledgement well inside 5 s (issue #10, reliability 3:
the insert used to wait out SQLite's 5 s busy timeout, or PostgreSQL without any bound)."""
from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import func, select, text

from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.services import inbox
from tests.helpers import event_xml, post_callback

EVENT = event_xml("change_future_thing", "appear", Id="7")


def spooled(spool_dir) -> list[dict]:
    return [json.loads(line) for path in spool_dir.glob("*.jsonl") for line in path.read_text().splitlines()]


def test_the_inbox_insert_engine_gives_up_after_the_configured_timeout(app):
    engine = inbox.insert_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000
            with db.engine.connect() as other:  # every other connection still waits 5 s
                assert other.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        else:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "1s"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
            assert conn.connection.dbapi_connection.info.get_parameters().get("connect_timeout") == "1"
    assert engine.pool.timeout() == 1.0


def test_the_insert_engine_keeps_the_database_urls_own_options():
    """A DATABASE_URL with ``?options=-csearch_path=…`` (a schema per service, as bench/ uses):
    the insert engine's timeouts come on top of the URL's options, not in place of them; they
    used to replace them, and every callback was spooled (the inbox table was not found)."""
    from sqlalchemy.engine import make_url

    from scrm.services.inbox.storage import postgres_options

    url = make_url("postgresql+psycopg://scrm@db/scrm?options=-csearch_path%3Dtenant_a")
    assert postgres_options(url, 1000) == (
        "-csearch_path=tenant_a -c lock_timeout=1000 -c statement_timeout=1000")
    assert postgres_options(make_url("postgresql+psycopg://scrm@db/scrm"), 250) == (
        "-c lock_timeout=250 -c statement_timeout=250")


def test_a_locked_database_spools_the_callback_and_acknowledges_it(app, client, tmp_path):
    override(app, SPOOL_DIR=str(tmp_path / "spool"))
    if db.engine.dialect.name == "sqlite":
        blocker = sqlite3.connect(db.engine.url.database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        release = blocker.close
    else:
        blocker = db.engine.connect()
        blocker.execute(text("LOCK TABLE callback_event IN ACCESS EXCLUSIVE MODE"))
        release = blocker.close  # rolls back, releasing the lock
    try:
        assert post_callback(client, EVENT).status_code == 200
    finally:
        release()
    assert [item["payload"] for item in spooled(tmp_path / "spool")] == [EVENT]
    assert db.session.scalar(select(func.count()).select_from(CallbackEvent)) == 0
    assert inbox.drain_spool() == 1  # once the database is back
    assert db.session.scalar(select(func.count()).select_from(CallbackEvent)) == 1


def test_a_failed_drain_keeps_what_the_web_spooled_meanwhile(app, tmp_path, monkeypatch):
    """The drain renames a spool file before reading it; the web then starts a new file of the
    same name. A drain that failed used to rename its file back over that new one, losing
    callbacks already acknowledged to WeCom."""
    from datetime import datetime

    from sqlalchemy.exc import OperationalError

    from scrm.services.inbox import spooling

    override(app, SPOOL_DIR=str(tmp_path / "spool"))
    spooling.spool("wwtestcorp0000001", event_xml("change_future_thing", "appear", Id="A"), datetime(2024, 1, 1))
    real_store = spooling.store

    def store_while_the_database_fails(*args):
        # the web process appends to a new file of its own name while the drain reads the old one
        spooling.spool("wwtestcorp0000001", event_xml("change_future_thing", "appear", Id="B"),
                       datetime(2024, 1, 1))
        raise OperationalError("INSERT", {}, Exception("database unavailable"))

    monkeypatch.setattr(spooling, "store", store_while_the_database_fails)
    with pytest.raises(OperationalError):
        spooling.drain_spool()
    lines = sorted(line for path in (tmp_path / "spool").iterdir() for line in path.read_text().splitlines())
    assert len(lines) == 2  # A (in the claimed file) and B (in the web's new file)

    monkeypatch.setattr(spooling, "store", real_store)
    assert spooling.drain_spool() == 2
    assert db.session.scalar(select(func.count()).select_from(CallbackEvent)) == 2
    assert list((tmp_path / "spool").iterdir()) == []


def test_one_drain_at_a_time_per_spool_directory(app, tmp_path):
    import fcntl
    import os
    from datetime import datetime

    from scrm.services.inbox import spooling

    override(app, SPOOL_DIR=str(tmp_path / "spool"))
    spooling.spool("wwtestcorp0000001", event_xml("change_future_thing", "appear", Id="C"), datetime(2024, 1, 1))
    fd = os.open(tmp_path / "spool", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another drain holds it
        assert spooling.drain_spool() == 0
    finally:
        os.close(fd)
    assert spooling.drain_spool() == 1
