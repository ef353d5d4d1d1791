"""The callback inbox: store once, claim, process, sweep.

The database is the inbox; Redis only carries "process row N" notices (a bare list push at
receipt, relayed into RQ jobs by the worker). A row is applied in
the same transaction that marks it processed, so a redelivered notice finds it done.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import weakref
from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import create_engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from scrm.clock import from_timestamp, utcnow
from scrm.config import settings
from scrm.db import insert_ignoring_conflict_sql
from scrm.extensions import db
from scrm.logging import corp_id_var
from scrm.models import CallbackEvent, EventStatus
from scrm.queueing import enqueue, enqueue_many
from scrm.services import dispatch
from scrm.wecom import RetryableWeComError, retry
from scrm.wecom.crypto import parse_xml

log = logging.getLogger(__name__)

MAX_ATTEMPTS = retry.MAX_JOB_ATTEMPTS
CLAIM_SECONDS = 120  # longer than the callbacks queue's job timeout
PROCESS_JOB = "jobs.callbacks.process_callback"


def envelope(fields: dict) -> tuple[str | None, str | None]:
    """(event, change_type): Event (or the third-party InfoType), or MsgType for messages."""
    msg_type = fields.get("MsgType")
    if msg_type and msg_type != "event":
        return msg_type, None
    return fields.get("Event") or fields.get("InfoType"), fields.get("ChangeType")


def dedupe_key(corp_id: str, plaintext: str, fields: dict) -> str:
    """PROTOCOL.md §1.7: MsgId for messages; a hash of the plaintext for events (FromUserName
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


_sqlite_group_commits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_autocommit_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# A forked gunicorn worker must not share its parent's locks, flock file description or sockets.
os.register_at_fork(after_in_child=_sqlite_group_commits.clear)
os.register_at_fork(after_in_child=_autocommit_engines.clear)


def _insert_ignoring_duplicate(values: dict) -> int | None:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        # One statement in autocommit mode is its own transaction, committed (WAL flushed, with
        # the default synchronous_commit) before the server answers: one round trip instead of
        # BEGIN, INSERT, COMMIT, and exactly as durable. PostgreSQL groups concurrent commits.
        # An engine of its own that is autocommit from the start: switching a pooled connection
        # per checkout (and back on return) cost two more round trips.
        autocommit = _autocommit_engines.get(engine)
        if autocommit is None:
            autocommit = _autocommit_engines.setdefault(engine, create_engine(
                engine.url, isolation_level="AUTOCOMMIT", pool_recycle=1800))
        with autocommit.connect() as conn:
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
    caller's session must not hold uncommitted writes (on SQLite it would wait on itself)."""
    fields = fields if fields is not None else parse_xml(plaintext)
    event, change_type = envelope(fields)
    return _insert_ignoring_duplicate(dict(
        corp_id=corp_id, received_at=received_at or utcnow(),
        dedupe_key=dedupe_key(corp_id, plaintext, fields), event=event, change_type=change_type,
        payload=plaintext, status=EventStatus.PENDING, attempts=0,
    ))


NOTICES = "scrm:inbox:notices"  # Redis list of new row ids, turned into RQ jobs by relay_notices()
RELAY_BATCH = 1000


def notice(event_id: int) -> bool:
    """The callback view's "process row N": one LPUSH (an RQ enqueue costs the request a third
    of its CPU: a job hash, the queue registration and nine replies). ``relay_notices`` turns
    notices into RQ jobs; if Redis loses one, the sweep finds the pending row."""
    try:
        current_app.extensions["redis"].lpush(NOTICES, event_id)
        return True
    except redis.RedisError as exc:
        log.warning("could not queue a notice for callback %s: %s", event_id, exc)
        return False


def relay_notices(connection: redis.Redis | None = None, *, block: float = 0) -> int:
    """Turn waiting notices into `callbacks`-queue jobs, up to RELAY_BATCH at a time, in one
    pipeline. ``block``: wait up to that many seconds for the first one (the worker's relay
    thread). Returns how many jobs were enqueued."""
    connection = connection or current_app.extensions["redis"]
    ids: list[bytes] = []
    if block:
        first = connection.brpop([NOTICES], timeout=block)
        if first is None:
            return 0
        ids.append(first[1])
    ids += connection.rpop(NOTICES, RELAY_BATCH - len(ids)) or []
    if not ids:
        return 0
    enqueue_many(PROCESS_JOB, [(f"callback-{int(i)}", (int(i),)) for i in ids], queue="callbacks",
                 connection=connection)
    return len(ids)


def relay_forever(app, stop: threading.Event) -> None:
    """The relay thread of a worker serving `callbacks`: blocks on the notices list (its own
    connection), survives Redis outages."""
    connection = redis.Redis.from_url(settings(app).redis_url)
    while not stop.is_set():
        try:
            with app.app_context():
                relay_notices(connection, block=1)
        except redis.RedisError as exc:
            log.warning("notice relay: %s; retrying in 1 s", exc)
            stop.wait(1)


def notify(event_id: int, delay: float = 0, suffix: str = "", unique: bool = False) -> bool:
    """Ask a worker to process the row. False when nothing was enqueued: Redis is unreachable
    (the sweep retries) or, with `unique`, a job for the row is already waiting."""
    try:
        return enqueue(PROCESS_JOB, event_id, queue="callbacks", delay=delay, unique=unique,
                       job_id=f"callback-{event_id}{suffix}") is not None
    except redis.RedisError as exc:
        log.warning("could not enqueue callback %s: %s", event_id, exc)
        return False


def _claim(event_id: int, now: datetime) -> bool:
    result = db.session.execute(
        update(CallbackEvent)
        .where(CallbackEvent.id == event_id, CallbackEvent.status == EventStatus.PENDING,
               or_(CallbackEvent.locked_until.is_(None), CallbackEvent.locked_until <= now))
        .values(attempts=CallbackEvent.attempts + 1,
                locked_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(row: CallbackEvent, status: str, error: str | None = None) -> None:
    row.status, row.last_error, row.locked_until = status, error, None
    if status != EventStatus.PENDING:
        row.processed_at = utcnow()
    db.session.commit()


def process(event_id: int) -> str:
    """Apply one inbox row exactly once. Returns the row's status afterwards (or 'skipped'
    when another worker holds it or it is already done)."""
    dispatch.load_handlers()
    if not _claim(event_id, utcnow()):
        return "skipped"
    row = db.session.get(CallbackEvent, event_id)
    corp_id_var.set(row.corp_id)
    fields = parse_xml(row.payload)
    handler = dispatch.find_handler(row.event, row.change_type)
    if handler is None:
        log.info("no handler for %s/%s; marked ignored", row.event, row.change_type)
        _finish(row, EventStatus.IGNORED)
        return row.status
    ctx = dispatch.EventContext(
        event_id=row.id, corp_id=row.corp_id, event=row.event, change_type=row.change_type,
        data=fields, occurred_at=from_timestamp(fields.get("CreateTime") or fields.get("TimeStamp"))
        or row.received_at, attempts=row.attempts)
    try:
        handler(ctx)
        _finish(row, EventStatus.PROCESSED)
    except (dispatch.RetryLater, RetryableWeComError, redis.RedisError, OperationalError,
            IntegrityError) as exc:
        # Also transient: Redis (the token cache) or the database going away, and a unique-key
        # race with a concurrent handler (the next attempt sees the other's row).
        db.session.rollback()
        row = db.session.get(CallbackEvent, event_id)
        delay = getattr(exc, "delay", None) or retry.job_delay(row.attempts)
        if row.attempts >= MAX_ATTEMPTS:
            log.error("callback %s failed after %s attempts: %s", event_id, row.attempts, exc)
            _finish(row, EventStatus.FAILED, str(exc))
        else:
            log.warning("callback %s retried in %ss: %s", event_id, delay, exc)
            row.last_error = str(exc)
            row.locked_until = utcnow() + timedelta(seconds=delay)  # the sweep waits for it too
            db.session.commit()
            notify(event_id, delay=delay, suffix=f"-retry{row.attempts}")
    except Exception as exc:  # noqa: BLE001 - a permanent failure is recorded, never retried
        db.session.rollback()
        log.exception("callback %s failed permanently", event_id)
        _finish(db.session.get(CallbackEvent, event_id), EventStatus.FAILED,
                f"{type(exc).__name__}: {exc}")
    return db.session.get(CallbackEvent, event_id).status


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue rows still pending after a while (Redis was down, a worker died, a job was
    dropped). Returns how many were enqueued."""
    now = now or utcnow()
    try:
        relayed = relay_notices()  # no worker with a relay thread running: the sweep relays
    except redis.RedisError as exc:
        log.warning("could not relay notices: %s", exc)
        relayed = 0
    cutoff = now - timedelta(seconds=settings().inbox_sweep_after_seconds)
    ids = db.session.scalars(
        select(CallbackEvent.id)
        .where(CallbackEvent.status == EventStatus.PENDING, CallbackEvent.received_at <= cutoff,
               or_(CallbackEvent.locked_until.is_(None), CallbackEvent.locked_until <= now))
        .order_by(CallbackEvent.id).limit(5000)
    ).all()
    db.session.rollback()
    return relayed + sum(notify(event_id, unique=True) for event_id in ids)


# --- Spool: where callbacks go when the database is unreachable ---------------------------

def spool(corp_id: str, plaintext: str, received_at: datetime) -> None:
    """Append the callback to a local file and fsync, so it can be acknowledged durably while
    the database is down. Raises OSError if even that fails (then we answer 503)."""
    directory = settings().spool_dir
    os.makedirs(directory, exist_ok=True)
    line = json.dumps({"corp_id": corp_id, "received_at": received_at.isoformat(),
                       "payload": plaintext}, ensure_ascii=False) + "\n"
    path = os.path.join(directory, f"callbacks-{os.getpid()}.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def drain_spool() -> int:
    """Move spooled callbacks into the inbox (deduplicated) and enqueue them. A file is removed
    only after all of its lines are committed."""
    directory = settings().spool_dir
    if not os.path.isdir(directory):
        return 0
    moved = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".jsonl", ".draining")):
            continue
        path = os.path.join(directory, name.removesuffix(".draining"))
        claimed = path + ".draining"
        if not name.endswith(".draining"):  # else: left by a drain that crashed; redo it
            os.replace(path, claimed)  # a web process appending afterwards starts a new file
        try:
            with open(claimed, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    event_id = store(item["corp_id"], item["payload"],
                                     datetime.fromisoformat(item["received_at"]))
                    if event_id:
                        moved += 1
                        notify(event_id)
        except (SQLAlchemyError, OSError):
            db.session.rollback()
            os.replace(claimed, path)  # keep it for the next drain
            raise
        os.remove(claimed)
    return moved
