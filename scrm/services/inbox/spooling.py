"""The spool: where callbacks go while the database is unreachable, and their way back.

The callback view appends the callback to a file of its process and fsyncs it, so the
acknowledgement stays durable; the `drain-spool` sweep moves the lines into the inbox
(deduplicated, so a callback WeCom also redelivered is stored once) and enqueues them.
"""
from __future__ import annotations

import json
import os
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
