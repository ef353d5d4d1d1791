"""When a group SOP's executions fall due (pure functions, corp-local time: SCRM_TIMEZONE).

Fixed schedules give instants: ``once`` at a local date and time; ``daily`` at a time;
``weekly`` on chosen weekdays (1 = Monday) at a time; ``monthly`` on chosen days of the month at
a time, a day past the month's end meaning its last day (31 = the last day of every month).
Recurring schedules may have a ``start_date`` and ``end_date`` (inclusive, local).

Relative schedules give each step a time after an event (group created, member joined):
``delay_minutes`` after it, or ``day_offset`` days after the event's local date at ``at_time``.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from scrm.models import ScheduleKind
from scrm.services import localtime

DEFAULT_TIME = "09:00"


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def occurrences(schedule: dict, start: datetime, end: datetime) -> list[datetime]:
    """The instants (naive UTC) of a fixed schedule in [start, end), in order."""
    kind = ScheduleKind(schedule["kind"])
    if kind.relative:
        return []
    if kind == ScheduleKind.ONCE:
        local = datetime.fromisoformat(schedule["at"])
        when = localtime.at_local(local.date(), local.strftime("%H:%M"))
        return [when] if start <= when < end else []
    at_time = schedule.get("at_time") or DEFAULT_TIME
    first, last = _day(schedule.get("start_date")), _day(schedule.get("end_date"))
    day = localtime.to_local(start).date() - timedelta(days=1)  # a local day may begin before `start` in UTC
    stop = localtime.to_local(end).date() + timedelta(days=1)
    out = []
    while day <= stop:
        if (first is None or day >= first) and (last is None or day <= last) and _on(kind, schedule, day):
            when = localtime.at_local(day, at_time)
            if start <= when < end:
                out.append(when)
        day += timedelta(days=1)
    return out


def _on(kind: ScheduleKind, schedule: dict, day: date) -> bool:
    if kind == ScheduleKind.DAILY:
        return True
    if kind == ScheduleKind.WEEKLY:
        return day.isoweekday() in set(schedule.get("weekdays") or [])
    month_end = calendar.monthrange(day.year, day.month)[1]
    return day.day in {min(d, month_end) for d in schedule.get("month_days") or []}


def after_event(step_delay_minutes: int | None, step_day_offset: int | None, step_at_time: str | None,
                event_at: datetime) -> datetime:
    """When a relative step falls due for an event at ``event_at`` (naive UTC)."""
    if step_delay_minutes is not None:
        return event_at + timedelta(minutes=step_delay_minutes)
    base = localtime.to_local(event_at).date() + timedelta(days=step_day_offset or 0)
    return localtime.at_local(base, step_at_time or DEFAULT_TIME)


def describe(schedule: dict) -> str:
    """A short Chinese description for cards and the sidebar (e.g. 每周一、三 09:00)."""
    kind = ScheduleKind(schedule["kind"])
    at = schedule.get("at_time") or DEFAULT_TIME
    if kind == ScheduleKind.ONCE:
        return f"单次 {schedule['at'].replace('T', ' ')}"
    if kind == ScheduleKind.DAILY:
        return f"每天 {at}"
    if kind == ScheduleKind.WEEKLY:
        days = "、".join("一二三四五六日"[d - 1] for d in sorted(schedule.get("weekdays") or []))
        return f"每周{days} {at}"
    if kind == ScheduleKind.MONTHLY:
        return f"每月{'、'.join(str(d) for d in sorted(schedule.get('month_days') or []))}日 {at}"
    return "建群后" if kind == ScheduleKind.GROUP_CREATED else "新成员入群后"
