"""Injectable clock: tests and `flask scrm tick --now` set the time instead of sleeping.

In sandbox mode the clock can also run ahead of the wall clock by an offset (the sandbox's
「时间快进」, scrm/sandbox_clock.py installs the source with ``use_offset``): every process of the
stack reads the same offset, so web, workers and scheduler move together. Outside sandbox mode no
source is installed and utcnow() costs what it always did.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None
_offset: Callable[[], timedelta] | None = None


def utcnow() -> datetime:
    """Naive UTC now (stored that way so SQLite and PostgreSQL behave the same). A frozen time
    wins over the sandbox's offset (`tick --now` names an absolute time)."""
    if _frozen is not None:
        return _frozen
    now = datetime.now(UTC).replace(tzinfo=None)
    return now if _offset is None else now + _offset()


def freeze(at: datetime | None) -> None:
    global _frozen
    _frozen = at.astimezone(UTC).replace(tzinfo=None) if at and at.tzinfo else at


def use_offset(source: Callable[[], timedelta] | None) -> None:
    """Run utcnow() ahead of the wall clock by ``source()`` (None: no offset)."""
    global _offset
    _offset = source


def iso_z(value: datetime | None) -> str | None:
    """Naive UTC → `YYYY-MM-DDTHH:MM:SSZ` (the API's time format); None stays None."""
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def epoch(value: datetime) -> float:
    """Naive UTC (as utcnow gives) → seconds since the epoch, whatever the machine's time zone
    (a naive datetime's own .timestamp() would read it as local time)."""
    return value.replace(tzinfo=UTC).timestamp()


def from_timestamp(value: int | str | None) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
