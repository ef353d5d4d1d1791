"""Local times of day written "HH:MM" (welcome-template variants, SOP steps, the nightly sync).

Pure parsing, no app or time zone: the schemas validate with it and the services read with it;
scrm/services/localtime.py turns a day and an "HH:MM" into UTC.
"""
from __future__ import annotations


def parse_hhmm(value: str) -> tuple[int, int] | None:
    """(hour, minute) of a valid "HH:MM" (two digits each, 00:00-23:59), else None."""
    try:
        hour_text, minute_text = value.split(":")
        hour, minute = int(hour_text), int(minute_text)
    except (AttributeError, ValueError):
        return None
    if len(hour_text) != 2 or len(minute_text) != 2 or not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return hour, minute
