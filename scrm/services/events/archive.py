"""`msgaudit_notify`: the chat archive (会话内容存档, docs/wecom/callbacks.md#chat-archive-notice,
docs/wecom/api.md#chat-archive).

The notice carries no content; it means "pull now". Pulling needs Tencent's native SDK
(GetChatData + RSA + DecryptData), which cannot run in CI, so it sits behind `ArchiveSource`.

Plugging in a real source: write a class with `fetch(seq, limit)` that calls GetChatData after
`seq`, decrypts each item with your private keys, and returns the plaintext dicts with the
outer `seq` added; then, once per process at start-up (e.g. where the worker builds the app):

    from scrm.services.events.archive import set_archive_source
    set_archive_source(MySdkSource(corp_id, secret, private_keys), corp_id=corp_id)

A source should raise `scrm.services.events.registry.RetryLater` for transient SDK errors
(10001 network, 10002 parse, 10003 system); anything else fails the inbox row.
Without a source the default one returns nothing: notices are recorded, nothing is pulled.

In sandbox mode create_app() plugs in `SimulatorArchiveSource` for the sandbox corp
(scrm/services/events/sandbox.py): the simulator keeps a chat archive of its own (its
`customer_replies` / `staff_messages_customer` actions) and serves it already decrypted, in the
shape above. It is never plugged in outside sandbox mode; a real corp plugs in its SDK source.

Archived messages are stored in their own table, not in the customer timeline (they would
drown it); a "last interaction" signal can be derived from them.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from scrm.clock import utcnow
from scrm.db import ensure_row, insert_ignoring_conflict
from scrm.models import ArchiveCursor, ArchivedMessage
from scrm.services.events.registry import EventContext, handles

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # GetChatData's maximum
# Pages pulled per notice, to keep one transaction bounded; notices come every 15 s while
# there are new messages, so a backlog drains over the next ones.
MAX_PAGES = 20


class ArchiveSource(Protocol):
    def fetch(self, seq: int, limit: int) -> list[dict]:
        """Decrypted messages after `seq`, oldest first, at most `limit`. Each dict has seq,
        msgid, action, from, tolist, roomid, msgtime (ms), msgtype and the type's body."""
        ...


class NoArchiveSource:
    """The default: no native SDK configured, nothing to pull."""

    def fetch(self, seq: int, limit: int) -> list[dict]:
        return []


_default_source: ArchiveSource = NoArchiveSource()
_sources: dict[str, ArchiveSource] = {}


def set_archive_source(source: ArchiveSource | None, corp_id: str | None = None) -> None:
    """Use `source` for `corp_id` (or for every corp without its own). None restores the default."""
    global _default_source
    if corp_id is None:
        _default_source = source or NoArchiveSource()
    elif source is None:
        _sources.pop(corp_id, None)
    else:
        _sources[corp_id] = source


def archive_source(corp_id: str) -> ArchiveSource:
    return _sources.get(corp_id, _default_source)


def _store(corp_id: str, message: dict) -> None:
    millis = message.get("msgtime") or message.get("time")  # "switch" records carry `time`
    tolist = message.get("tolist") or []
    peer = str(tolist[0]) if len(tolist) == 1 and not message.get("roomid") else None
    insert_ignoring_conflict(ArchivedMessage, {
        "corp_id": corp_id, "seq": int(message["seq"]), "msgid": message["msgid"],
        "action": message.get("action"), "from_id": message.get("from") or message.get("user"),
        "roomid": message.get("roomid") or None, "peer_id": peer, "msgtype": message.get("msgtype"),
        "msgtime": None if millis is None else _from_millis(int(millis)), "body": message})


def _from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis // 1000, UTC).replace(tzinfo=None) + timedelta(milliseconds=millis % 1000)


def pull(corp_id: str, cursor: ArchiveCursor) -> int:
    """Store new archived messages after the cursor and advance it. Returns how many were read.
    Idempotent: a message already stored (same msgid) is skipped."""
    source = archive_source(corp_id)
    count = 0
    for _ in range(MAX_PAGES):
        batch = source.fetch(cursor.seq, PAGE_SIZE)
        for message in batch:
            _store(corp_id, message)
        count += len(batch)
        if batch:
            cursor.seq = max(cursor.seq, *(int(message["seq"]) for message in batch))
        if len(batch) < PAGE_SIZE:
            break
    else:
        log.info("archive pull for %s stopped after %d pages at seq %s", corp_id, MAX_PAGES, cursor.seq)
    cursor.last_pulled_at = utcnow()
    return count


@handles("msgaudit_notify")
def archive_notified(ctx: EventContext) -> None:
    # Locked: two notices must not pull the same range at once.
    cursor, _ = ensure_row(ArchiveCursor, lock=True, corp_id=ctx.corp_id)
    if cursor.last_notified_at is None or cursor.last_notified_at < ctx.occurred_at:
        cursor.last_notified_at = ctx.occurred_at
    pulled = pull(ctx.corp_id, cursor)
    log.info("archive pull for %s: %d messages, seq now %s", ctx.corp_id, pulled, cursor.seq)
