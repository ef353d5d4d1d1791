"""The callback inbox: store once, relay, claim and process, sweep; spool while the database
is down.

The database is the inbox; Redis only carries "process row N" notices. A row is applied in the
same transaction that marks it processed, so a redelivered notice finds it done.

* ``storage``: the web's durable insert (``store``), bounded by INBOX_INSERT_TIMEOUT.
* ``relay``: ``NoticeRelay``, the component a `callbacks` worker runs to turn notices into jobs.
* ``processing``: claim with a lease, dispatch to the handler, mark processed; ``sweep``.
* ``spooling``: fsynced files while the database is unreachable, and their drain.
"""
from scrm.services.inbox.processing import MAX_ATTEMPTS, notify, process, sweep
from scrm.services.inbox.relay import (
    NOTICES,
    PROCESS_JOB,
    RELAY_BATCH,
    NoticeRelay,
    notice,
    relay_forever,
    relay_notices,
)
from scrm.services.inbox.spooling import drain_spool, spool
from scrm.services.inbox.storage import dedupe_key, envelope, insert_engine, store

__all__ = ["MAX_ATTEMPTS", "NOTICES", "PROCESS_JOB", "RELAY_BATCH", "NoticeRelay", "dedupe_key",
           "drain_spool", "envelope", "insert_engine", "notice", "notify", "process",
           "relay_forever", "relay_notices", "spool", "store", "sweep"]
