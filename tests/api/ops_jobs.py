"""Job functions the operations tests enqueue by dotted path (as services name real jobs)."""
from __future__ import annotations

from scrm.queueing import redis_connection

RUNS = "test:ops:runs:"
DONE = "test:ops:done:"


def fail_once(name: str) -> str:
    """Fails the first time (with personal data in the message, as a careless error might), then
    records that it ran."""
    connection = redis_connection()
    if connection.incr(RUNS + name) == 1:
        raise LookupError(f"no follow relation for '{name}' (wmCUSTOMER0001ABC, 13800138000)")
    connection.set(DONE + name, "1")
    return "ran"
