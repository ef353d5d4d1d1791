"""The inbox's dispatcher: every callback handler module loaded, and the registry's lookups.

The registry itself (HANDLERS, `handles`, EventContext, RetryLater) is
scrm/services/events/registry.py; the handler modules register on import, and this module
imports them all, so nothing else needs to know the list.
"""
from __future__ import annotations

from scrm.services.events import (  # noqa: F401 (they register)
    archive,
    contacts,
    customers,
    groups,
    messages,
    sandbox,
    tags,
)
from scrm.services.events.registry import HANDLERS, EventContext, Handler, RetryLater, find_handler, handles

__all__ = ["HANDLERS", "EventContext", "Handler", "RetryLater", "find_handler", "handles", "load_handlers"]


def load_handlers() -> dict:
    """The registry, every handler registered (they were when this module was imported)."""
    return HANDLERS
