"""The web's durable insert: every decrypted callback becomes one inbox row before it is
acknowledged, and a redelivery finds its row already there (same dedupe key).

The insert gives up within ``INBOX_INSERT_TIMEOUT`` seconds (1 s by default) so the callback
view can spool the callback and still answer WeCom well inside its 5 s: on SQLite through the
busy timeout of a connection pool of its own, on PostgreSQL through connect, lock and
statement timeouts on its own autocommit engine.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import weakref
from datetime import datetime

from sqlalchemy import Engine, create_engine, event, insert

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import insert_ignoring_conflict_sql
from scrm.extensions import db
from scrm.models import CallbackEvent, EventStatus
from scrm.wecom.crypto import parse_xml


def envelope(fields: dict) -> tuple[str | None, str | None]:
    """(event, change_type): Event (or the third-party InfoType), or MsgType for messages."""
    msg_type = fields.get("MsgType")
    if msg_type and msg_type != "event":
        return msg_type, None
    return fields.get("Event") or fields.get("InfoType"), fields.get("ChangeType")


def dedupe_key(corp_id: str, plaintext: str, fields: dict) -> str:
    """docs/wecom/callbacks.md#deduplication: MsgId for messages; a hash of the plaintext for events (FromUserName
    is always `sys` and CreateTime has 1 s resolution, so those are not unique)."""
    if fields.get("MsgType") not in (None, "event") and fields.get("MsgId"):
        basis = f"msg|{corp_id}|{fields.get('AgentID') or ''}|{fields['MsgId']}"
    else:
        basis = f"evt|{corp_id}|{plaintext}"
    return hashlib.sha256(basis.encode()).hexdigest()


# The hot path of every callback, kept lean: a Core statement on a connection of its own (no ORM
# session bookkeeping), spelled as SQL because SQLAlchemy never caches the compiled form of the
# dialect insert().on_conflict_do_nothing() constructs (compiling one cost more CPU than the rest
# of the request). Same syntax on PostgreSQL and SQLite 3.35+; the typed bind parameters store
# values exactly as the ORM does.
_INSERT_COLUMNS = ("corp_id", "received_at", "dedupe_key", "event", "change_type", "payload",
                   "status", "attempts")
_INSERT_IGNORING_DUPLICATE = insert_ignoring_conflict_sql(CallbackEvent.__table__, _INSERT_COLUMNS, "dedupe_key")


class _SQLiteGroupCommit:
    """SQLite has one writer at a time and every commit is an fsync. So the request threads of a
    process hand their rows to whichever of them holds the lock, which inserts every waiting
    row in one transaction (one fsync for many callbacks), and the processes take turns through
    an flock on a file beside the database, which wakes the next one at once where SQLite's busy
    handler would sleep for milliseconds. Every caller returns only once the transaction holding
    its row has committed, or raises what that transaction raised."""

    def __init__(self, database: str | None):
        self._lock_path = f"{database}-inbox.lock" if database and database != ":memory:" else None
        self._lock_fd: int | None = None
        self._commit_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._waiting: list[dict] = []

    def insert(self, engine, values: dict) -> int | None:
        item = {"values": values}
        with self._queue_lock:
            self._waiting.append(item)
        with self._commit_lock:
            if "result" not in item and "error" not in item:  # no sibling committed it yet
                with self._queue_lock:
                    batch, self._waiting = self._waiting, []
                self._commit(engine, batch)
        if "error" in item:
            raise item["error"]
        return item["result"]

    def _commit(self, engine, batch: list[dict]) -> None:
        if self._lock_fd is None and self._lock_path:
            try:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # e.g. the directory is gone: SQLite will say so below
                pass
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:  # commits on leaving the block
                ids = [conn.execute(_INSERT_IGNORING_DUPLICATE, it["values"]).scalar()
                       for it in batch]
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
            for it in batch:
                it["error"] = exc
        else:
            for it, event_id in zip(batch, ids, strict=True):
                it["result"] = event_id
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


# One per database URL and timeout in a process: the insert's own engine (short timeouts) and,
# on SQLite, its group commit. A forked gunicorn worker must not share its parent's locks,
# flock file or sockets.
_insert_engines: dict[tuple[str, float], Engine] = {}
_sqlite_group_commits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
os.register_at_fork(after_in_child=_insert_engines.clear)
os.register_at_fork(after_in_child=_sqlite_group_commits.clear)


def postgres_options(url, millis: int) -> str:
    """libpq ``options`` for the insert engine: the URL's own (a ``search_path``, say) first,
    then the timeouts. ``connect_args`` replaces the URL's ``options`` rather than adding to
    them, so without this the insert would run outside the database's configured schema."""
    own = url.query.get("options") or ()
    own = (own,) if isinstance(own, str) else tuple(own)
    return " ".join((*own, f"-c lock_timeout={millis}", f"-c statement_timeout={millis}"))


def _build_insert_engine(engine, timeout: float):
    """An engine for the inbox insert only, that gives up after about ``timeout`` seconds."""
    millis = max(1, int(timeout * 1000))
    if engine.dialect.name == "postgresql":
        # One statement in autocommit mode is its own transaction, committed (WAL flushed, with
        # the default synchronous_commit) before the server answers: one round trip instead of
        # BEGIN, INSERT, COMMIT, and exactly as durable. PostgreSQL groups concurrent commits.
        # Autocommit from the start: switching a pooled connection per checkout cost two more
        # round trips. The timeouts bound a server that is down, locked or stalled.
        return create_engine(
            engine.url, isolation_level="AUTOCOMMIT", pool_recycle=1800, pool_timeout=timeout,
            hide_parameters=True, connect_args={
                "connect_timeout": max(1, round(timeout)),
                "options": postgres_options(engine.url, millis)})
    if engine.dialect.name == "sqlite":
        insert_engine = create_engine(engine.url, pool_timeout=timeout, hide_parameters=True)

        # Runs after scrm.extensions' pragmas (class-level listeners run first): the web's
        # insert waits this long for the write lock, not the 5 s every other connection waits.
        @event.listens_for(insert_engine, "connect")
        def _short_busy_timeout(dbapi_connection, _record) -> None:
            if isinstance(dbapi_connection, sqlite3.Connection):
                dbapi_connection.execute(f"PRAGMA busy_timeout={millis}")

        return insert_engine
    return engine  # pragma: no cover - we run on PostgreSQL and SQLite only


def insert_engine() -> Engine:
    """The app engine's companion for the inbox insert (one per database and process)."""
    engine, timeout = db.engine, settings().inbox_insert_timeout
    key = (engine.url.render_as_string(hide_password=False), timeout)
    insert_engine = _insert_engines.get(key)
    if insert_engine is None:
        insert_engine = _insert_engines.setdefault(key, _build_insert_engine(engine, timeout))
    return insert_engine


def _insert_ignoring_duplicate(values: dict) -> int | None:
    engine = insert_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return conn.execute(_INSERT_IGNORING_DUPLICATE, values).scalar()
    if engine.dialect.name == "sqlite":
        group = _sqlite_group_commits.get(engine)
        if group is None:
            group = _sqlite_group_commits.setdefault(engine, _SQLiteGroupCommit(engine.url.database))
        return group.insert(engine, values)
    # pragma: no cover - other databases fall back to the unique constraint error
    stmt = insert(CallbackEvent.__table__).values(**values).returning(CallbackEvent.id)
    with engine.begin() as conn:
        return conn.execute(stmt).scalar()


def store(corp_id: str, plaintext: str, received_at: datetime | None = None,
          fields: dict | None = None) -> int | None:
    """Insert the callback into the inbox and commit. Returns the new row id, or None when
    this is a redelivery of a callback already stored. Uses a connection of its own, so the
    caller's session must not hold uncommitted writes (on SQLite it would wait on itself).
    Raises SQLAlchemyError after about INBOX_INSERT_TIMEOUT seconds if the database cannot
    take it (the caller spools)."""
    fields = fields if fields is not None else parse_xml(plaintext)
    event_type, change_type = envelope(fields)
    return _insert_ignoring_duplicate(dict(
        corp_id=corp_id, received_at=received_at or utcnow(),
        dedupe_key=dedupe_key(corp_id, plaintext, fields), event=event_type,
        change_type=change_type, payload=plaintext, status=EventStatus.PENDING, attempts=0,
    ))
