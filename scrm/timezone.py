"""Time zones and times of day as people write them: the one place that turns a zone name into a
tzinfo and the one "HH:MM" parser. Pure (no app, no settings), so every layer may use it: the
settings validate SCRM_TIMEZONE and SCRM_NIGHTLY_SYNC_AT with it, scrm.services.localtime gives
the corp's local time from it, the schemas check HH:MM fields with it."""
from __future__ import annotations

import logging
import re
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

log = logging.getLogger(__name__)

# With no time zone database on the machine at all (no system zoneinfo, no `tzdata` package),
# the corp's zone is taken as China Standard Time.
NO_DATABASE_FALLBACK = timezone(timedelta(hours=8), "UTC+08:00")

_HHMM = re.compile(r"([0-9]{2}):([0-9]{2})")
_H_M = re.compile(r"([0-9]{1,2}):([0-9]{1,2})")


def parse_hhmm(value: object, *, loose: bool = False) -> tuple[int, int] | None:
    """(hour, minute) of a valid "HH:MM" (00:00–23:59), else None. ``loose`` also takes "H:M"
    (an environment setting such as "4:30"); stored times of day are always strict."""
    match = (_H_M if loose else _HHMM).fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    return (hour, minute) if hour < 24 and minute < 60 else None


@lru_cache(maxsize=8)
def zone_named(name: str) -> tzinfo:
    """The time zone of an IANA name ("Asia/Shanghai"). A name the time zone database does not
    know raises ValueError; with no database at all, NO_DATABASE_FALLBACK (logged once)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        if available_timezones():
            raise ValueError(f"unknown time zone {name!r}") from None
    log.warning("no time zone database (install tzdata); time zone %r taken as UTC+08:00", name)
    return NO_DATABASE_FALLBACK
