"""Job functions the operability tests enqueue by dotted path (as services name real jobs)."""
from __future__ import annotations


def wait_here() -> str:
    return "ran"


def explode(customer_name: str) -> None:
    # The message carries personal data, as a careless error might: status must not show it.
    raise ValueError(f"no follow relation for '{customer_name}' (wmCUSTOMER0001ABC, 13800138000)")
