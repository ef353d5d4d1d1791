"""Customer-group statistics calls (docs/wecom/api.md#group-statistics), as functions over a
WeComClient so the client module stays small: `groupchat/statistic` (per owner) and
`groupchat/statistic_group_by_day` (per day). Both take whole days as timestamps of 00:00 China
Standard Time, at most 30 days per call, the last 180 days, yesterday at the latest; the owner
filter holds at most 100 userids."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8), "China Standard Time")  # WeCom's statistics days
MAX_OWNERS = 100
MAX_SPAN_DAYS = 30
HISTORY_DAYS = 180
MAX_LIMIT = 1000


def day_timestamp(day: date) -> int:
    """00:00 China Standard Time of ``day`` as a Unix timestamp (the API's day value)."""
    return int(datetime.combine(day, time(), tzinfo=CST).timestamp())


def wecom_today(now_utc: datetime) -> date:
    """The current day as WeCom's statistics count days (China Standard Time)."""
    return now_utc.replace(tzinfo=UTC).astimezone(CST).date()


def _body(first: date, last: date, owners: Sequence[str]) -> dict[str, Any]:
    if not owners or len(owners) > MAX_OWNERS:
        raise ValueError(f"owner_filter takes 1 to {MAX_OWNERS} userids")
    if last < first or (last - first).days + 1 > MAX_SPAN_DAYS:
        raise ValueError(f"a span of 1 to {MAX_SPAN_DAYS} days")
    return {"day_begin_time": day_timestamp(first), "day_end_time": day_timestamp(last),
            "owner_filter": {"userid_list": list(owners)}}


def groupchat_statistic(client: Any, first: date, last: date, owners: Sequence[str], *,
                        offset: int = 0, limit: int = MAX_LIMIT, order_by: int = 1,
                        order_asc: int = 0) -> dict:
    """Per owner over the span: `{total, next_offset, items[{owner, data{…}}]}`."""
    body = _body(first, last, owners) | {"order_by": order_by, "order_asc": order_asc,
                                          "offset": offset, "limit": limit}
    return client.call("POST", "externalcontact/groupchat/statistic", json=body)


def groupchat_statistic_by_day(client: Any, first: date, last: date, owners: Sequence[str]) -> dict:
    """Per day, the owners' groups together: `{items[{stat_time, data{…}}]}`."""
    return client.call("POST", "externalcontact/groupchat/statistic_group_by_day",
                       json=_body(first, last, owners))
