"""The corp's local time (SCRM_TIMEZONE). Rows hold naive UTC; welcome variants ("off hours after
18:00"), SOP steps ("day 1 at 10:00") and the nightly sync are stated in local time."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from scrm.config import settings
from scrm.timezone import parse_hhmm, zone_named


def zone() -> tzinfo:
    return zone_named(settings().timezone)


def to_local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(zone())


def at_local(day: date, hhmm: str) -> datetime:
    """Naive UTC of ``day`` at local ``HH:MM``."""
    parsed = parse_hhmm(hhmm)
    if parsed is None:
        raise ValueError(f"not a time of day HH:MM: {hhmm!r}")
    local = datetime.combine(day, time(*parsed), tzinfo=zone())
    return local.astimezone(UTC).replace(tzinfo=None)


def midnight(day: date) -> datetime:
    """Naive UTC of 00:00 local time on ``day``."""
    return at_local(day, "00:00")
