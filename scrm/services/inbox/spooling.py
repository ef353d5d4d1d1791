"""The spool: where callbacks go while the database is unreachable, and their way back.

The callback view appends the callback to a file of its process and fsyncs it, so the
acknowledgement stays durable; the `drain-spool` sweep moves the lines into the inbox
(deduplicated, so a callback WeCom also redelivered is stored once) and enqueues them.
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from scrm.config import settings
from scrm.extensions import db
from scrm.services.inbox.processing import notify
from scrm.services.inbox.storage import store


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


@contextmanager
def _drain_lock(directory: str):
    """One drain at a time per spool directory (a host's workers and `flask scrm drain-spool`
    may all try): yields False when another holds it."""
    fd = os.open(directory, os.O_RDONLY)  # flock on the directory itself: no lock file
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _drain_file(claimed: str) -> int:
    moved = 0
    with open(claimed, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            item = json.loads(line)
            event_id = store(item["corp_id"], item["payload"], datetime.fromisoformat(item["received_at"]))
            if event_id:
                moved += 1
                notify(event_id)
    return moved


def drain_spool() -> int:
    """Move spooled callbacks into the inbox (deduplicated) and enqueue them. A file is first
    renamed to a name of its own (``<file>.<random>.draining``), so a web process appending
    afterwards starts a new file, and is removed only after all of its lines are committed. A
    drain that fails leaves it where it is; the next drain does it again (the inbox's dedupe
    key keeps lines already stored from being stored twice)."""
    directory = settings().spool_dir
    if not os.path.isdir(directory):
        return 0
    moved = 0
    with _drain_lock(directory) as locked:
        if not locked:
            return 0
        for name in sorted(os.listdir(directory)):
            if name.endswith(".jsonl"):
                claimed = os.path.join(directory, f"{name}.{uuid.uuid4().hex}.draining")
                os.replace(os.path.join(directory, name), claimed)
            elif name.endswith(".draining"):  # left by a drain that failed or crashed
                claimed = os.path.join(directory, name)
            else:
                continue
            try:
                moved += _drain_file(claimed)
            except (SQLAlchemyError, OSError):
                db.session.rollback()
                raise
            os.remove(claimed)
    return moved
