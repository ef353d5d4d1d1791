"""Registry of callback handlers, keyed by (Event, ChangeType), and what a handler is given.

Handler modules (scrm/services/events/*) register with `@handles("change_external_contact",
"add_external_contact")`. A handler runs inside the processing transaction, must be
idempotent (re-read state from WeCom rather than applying deltas) and must not commit.
It may raise `RetryLater` (e.g. WeCom answered 84061 right after an add) or a WeCom error.

This module is the root of the events package: the handlers, the sync (which reuses their
upserts) and the sidebar import it, and it imports no service at module level.
`scrm.services.dispatch` is where every handler module is loaded for the inbox.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

Handler = Callable[["EventContext"], None]
HANDLERS: dict[tuple[str, str | None], Handler] = {}


class RetryLater(Exception):
    """Process this event again after `delay` seconds (not a failure yet)."""

    def __init__(self, reason: str, delay: float = 5.0):
        super().__init__(reason)
        self.delay = delay


@dataclass
class EventContext:
    event_id: int
    corp_id: str
    event: str  # the Event for events, the MsgType for messages
    change_type: str | None
    data: dict[str, Any]  # the decrypted XML as a flat dict of strings
    occurred_at: datetime  # CreateTime
    attempts: int = 1
    source: str = field(default="callback")
    # The sync's page buffer: model -> rows that are new and not read back before the page
    # commits (timeline entries, members, relation tags), inserted in one statement per table.
    # None (callbacks): such rows are added to the session one by one.
    pending: dict | None = None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name)
        return default if value in (None, "") else value

    @cached_property
    def wecom(self):
        # Deferred: the corps service reads the app's config and Redis; the registry stays a leaf
        # that imports no service, so a handler that never calls WeCom never loads it.
        from scrm.services.corps import wecom_client

        return wecom_client(self.corp_id)


def handles(event: str, *change_types: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for change_type in change_types or (None,):
            HANDLERS[(event, change_type)] = func
        return func

    return register


def find_handler(event: str | None, change_type: str | None) -> Handler | None:
    if not event:
        return None
    return HANDLERS.get((event, change_type)) or HANDLERS.get((event, None))
