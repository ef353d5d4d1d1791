"""The corp's local time (SCRM_TIMEZONE, default Asia/Shanghai). Rows hold naive UTC; welcome
variants ("off hours after 18:00") and SOP steps ("day 1 at 10:00") are stated in local time."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def to_local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(zone())


def at_local(day: date, hhmm: str) -> datetime:
    """Naive UTC of ``day`` at local ``HH:MM``."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=zone())
    return local.astimezone(UTC).replace(tzinfo=None)
