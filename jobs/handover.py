"""Handover jobs (scrm/services/handover): thin entry points named by dotted path."""
from __future__ import annotations

from datetime import datetime

from scrm.services import handover


def open_resigned(corp_id: str, userid: str) -> int | None:
    batch = handover.open_resigned(corp_id, userid)
    return batch.id if batch is not None else None


def run_batch(batch_id: int) -> str:
    return handover.run_batch(batch_id)


def poll_batch(batch_id: int, as_of: str | None = None) -> str:
    return handover.poll_batch(batch_id, datetime.fromisoformat(as_of) if as_of else None)
