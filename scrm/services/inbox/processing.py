"""Claim, dispatch, mark processed; and the sweep that finds rows nobody is working on.

A worker claims a row with an atomic conditional UPDATE that also sets a lease
(``locked_until``, SCRM_INBOX_LEASE_SECONDS ahead) and its claim token (``claimed_by``); a thread
of the process renews the lease while the handler runs. The handler's effects and the row's
final status commit in one transaction, and only while the claim is still ours, so a row is
applied exactly once and never by two workers at a time. A worker that dies leaves a lease
that expires; the sweep then enqueues the row under a fresh job id, whatever RQ still says
about the dead worker's job.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

import redis
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from scrm.clock import from_timestamp, utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.logging import corp_id_var
from scrm.models import CallbackEvent, EventStatus
from scrm.queueing import enqueue
from scrm.services import dispatch
from scrm.services.inbox.relay import PROCESS_JOB, relay_notices
from scrm.wecom import RetryableWeComError, retry
from scrm.wecom.crypto import parse_xml

log = logging.getLogger(__name__)

MAX_ATTEMPTS = retry.MAX_JOB_ATTEMPTS


def notify(event_id: int, delay: float = 0, suffix: str = "", unique: bool = False) -> bool:
    """Ask a worker to process the row. False when nothing was enqueued: Redis is unreachable
    (the sweep retries) or, with `unique`, a job for the row is already waiting."""
    try:
        return enqueue(PROCESS_JOB, event_id, queue="callbacks", delay=delay, unique=unique,
                       job_id=f"callback-{event_id}{suffix}") is not None
    except redis.RedisError as exc:
        log.warning("could not enqueue callback %s: %s", event_id, exc)
        return False


# --- Claims and their leases --------------------------------------------------------------

def _claimed(event_id: int, token: str):
    return (CallbackEvent.id == event_id, CallbackEvent.claimed_by == token,
            CallbackEvent.status == EventStatus.PENDING)


def _claim(event_id: int, token: str, now: datetime, lease: float) -> bool:
    result = db.session.execute(
        update(CallbackEvent)
        .where(CallbackEvent.id == event_id, CallbackEvent.status == EventStatus.PENDING,
               or_(CallbackEvent.locked_until.is_(None), CallbackEvent.locked_until <= now))
        .values(attempts=CallbackEvent.attempts + 1, claimed_by=token,
                locked_until=now + timedelta(seconds=lease))
    )
    db.session.commit()
    return result.rowcount == 1


class _LeaseKeeper:
    """One thread per process that pushes the lease of every claim in hand forward every third
    of a lease, on a connection of its own. It dies with the process, and so does the lease."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[str, list] = {}  # token -> [engine, event_id, lease, next renewal]
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def hold(self, engine, event_id: int, token: str, lease: float) -> None:
        with self._lock:
            self._claims[token] = [engine, event_id, lease, time.monotonic() + lease / 3]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-leases", daemon=True)
                self._thread.start()
        self._wake.set()  # its next renewal may be due before the one the thread waits for

    def drop(self, token: str) -> None:
        with self._lock:
            self._claims.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._claims:
                    self._thread = None
                    return
                next_due = min(claim[3] for claim in self._claims.values())
            if self._wake.wait(max(0.0, next_due - time.monotonic())):
                self._wake.clear()
                continue
            with self._lock:
                due = [(token, claim) for token, claim in self._claims.items() if claim[3] <= time.monotonic()]
            for token, claim in due:
                engine, event_id, lease, _ = claim
                claim[3] = time.monotonic() + lease / 3
                try:
                    with engine.begin() as conn:
                        conn.execute(update(CallbackEvent).where(*_claimed(event_id, token))
                                     .values(locked_until=utcnow() + timedelta(seconds=lease)))
                except SQLAlchemyError as exc:  # the next round tries again
                    log.warning("could not renew the claim on callback %s: %s", event_id,
                                type(exc).__name__)


_leases = _LeaseKeeper()
os.register_at_fork(after_in_child=lambda: globals().update(_leases=_LeaseKeeper()))
_HOST = socket.gethostname()[:32]


def _new_token() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"  # at most 64 characters


def _finish(event_id: int, token: str, status: str, error: str | None = None) -> bool:
    """Set the final status in the handler's transaction and commit, if the claim is still
    ours; else roll the handler's work back (another worker holds the row now)."""
    values = dict(status=status, last_error=error, locked_until=None, claimed_by=None)
    if status != EventStatus.PENDING:
        values["processed_at"] = utcnow()
    result = db.session.execute(update(CallbackEvent).where(*_claimed(event_id, token))
                                .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        log.warning("callback %s: the claim expired before the work was done; rolled back", event_id)
        return False
    db.session.commit()
    return True


def _status(event_id: int) -> str:
    db.session.expire_all()
    return db.session.get(CallbackEvent, event_id).status


def process(event_id: int) -> str:
    """Apply one inbox row exactly once. Returns the row's status afterwards (or 'skipped'
    when another worker holds it or it is already done)."""
    dispatch.load_handlers()
    token = _new_token()
    lease = settings().inbox_lease_seconds
    if not _claim(event_id, token, utcnow(), lease):
        return "skipped"
    _leases.hold(db.engine, event_id, token, lease)
    try:
        return _run(event_id, token)
    finally:
        _leases.drop(token)


def _run(event_id: int, token: str) -> str:
    row = db.session.get(CallbackEvent, event_id)
    corp_id_var.set(row.corp_id)
    fields = parse_xml(row.payload)
    handler = dispatch.find_handler(row.event, row.change_type)
    if handler is None:
        log.info("no handler for %s/%s; marked ignored", row.event, row.change_type)
        return _status(event_id) if _finish(event_id, token, EventStatus.IGNORED) else "skipped"
    ctx = dispatch.EventContext(
        event_id=row.id, corp_id=row.corp_id, event=row.event, change_type=row.change_type,
        data=fields, occurred_at=from_timestamp(fields.get("CreateTime") or fields.get("TimeStamp"))
        or row.received_at, attempts=row.attempts)
    try:
        handler(ctx)
        done = _finish(event_id, token, EventStatus.PROCESSED)
    except (dispatch.RetryLater, RetryableWeComError, redis.RedisError, OperationalError,
            IntegrityError) as exc:
        # Also transient: Redis (the token cache) or the database going away, and a unique-key
        # race with a concurrent handler (the next attempt sees the other's row).
        db.session.rollback()
        done = _retry_later(event_id, token, row.attempts, exc)
    except Exception as exc:  # noqa: BLE001 - a permanent failure is recorded, never retried
        db.session.rollback()
        log.exception("callback %s failed permanently", event_id)
        done = _finish(event_id, token, EventStatus.FAILED, f"{type(exc).__name__}: {exc}")
    return _status(event_id) if done else "skipped"


def _retry_later(event_id: int, token: str, attempts: int, exc: Exception) -> bool:
    if attempts >= MAX_ATTEMPTS:
        log.error("callback %s failed after %s attempts: %s", event_id, attempts, type(exc).__name__)
        return _finish(event_id, token, EventStatus.FAILED, str(exc))
    delay = getattr(exc, "delay", None) or retry.job_delay(attempts)
    log.warning("callback %s retried in %ss: %s", event_id, delay, type(exc).__name__)
    # Released, but not claimable before the retry time (the sweep waits for it too).
    result = db.session.execute(
        update(CallbackEvent).where(*_claimed(event_id, token))
        .values(last_error=str(exc), claimed_by=None,
                locked_until=utcnow() + timedelta(seconds=delay))
        .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return False
    notify(event_id, delay=delay, suffix=f"-retry{attempts}")
    return True


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue rows still pending after a while that no live worker holds: Redis lost the
    notice or the job, or the worker died mid-job (its lease expired; RQ may still call that
    job `started` for minutes, so the row gets a job id of its own). Returns how many were
    enqueued."""
    now = now or utcnow()
    try:
        relayed = relay_notices()  # no worker with a relay running: the sweep relays
    except redis.RedisError as exc:
        log.warning("could not relay notices: %s", exc)
        relayed = 0
    cutoff = now - timedelta(seconds=settings().inbox_sweep_after_seconds)
    rows = db.session.execute(
        select(CallbackEvent.id, CallbackEvent.attempts, CallbackEvent.claimed_by)
        .where(CallbackEvent.status == EventStatus.PENDING, CallbackEvent.received_at <= cutoff,
               or_(CallbackEvent.locked_until.is_(None), CallbackEvent.locked_until <= now))
        .order_by(CallbackEvent.id).limit(5000)
    ).all()
    db.session.rollback()
    enqueued = 0
    for event_id, attempts, claimed_by in rows:
        if claimed_by is not None:  # a claim whose holder died
            suffix = f"-lease{attempts}"
        elif attempts:  # released for a retry (its delayed job may have been lost)
            suffix = f"-retry{attempts}"
        else:
            suffix = ""
        enqueued += notify(event_id, unique=True, suffix=suffix)
    return relayed + enqueued
