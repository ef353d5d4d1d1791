"""Injectable clock: tests and `flask scrm tick --now` set the time instead of sleeping."""
from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Naive UTC now (stored that way so SQLite and PostgreSQL behave the same)."""
    return _frozen if _frozen is not None else datetime.now(UTC).replace(tzinfo=None)


def freeze(at: datetime | None) -> None:
    global _frozen
    _frozen = at.astimezone(UTC).replace(tzinfo=None) if at and at.tzinfo else at


def iso_z(value: datetime | None) -> str | None:
    """Naive UTC → `YYYY-MM-DDTHH:MM:SSZ` (the API's time format); None stays None."""
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def from_timestamp(value: int | str | None) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
