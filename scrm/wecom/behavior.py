"""`externalcontact/get_user_behavior_data` (docs/wecom/api.md#statistics, doc 92132) as a function
over a WeComClient: one member's daily figures (several userids would be summed into one series,
so the service asks one member at a time). Days are China Standard Time, at most 30 per call,
the last 180 days; timestamps are floored to 00:00."""
from __future__ import annotations

from datetime import date
from typing import Any

from scrm.wecom.group_stats import CST, HISTORY_DAYS, MAX_SPAN_DAYS, day_timestamp, wecom_today

__all__ = ["CST", "HISTORY_DAYS", "MAX_SPAN_DAYS", "day_timestamp", "user_behavior_data", "wecom_today"]


def user_behavior_data(client: Any, userid: str, first: date, last: date) -> dict:
    """`{behavior_data[{stat_time, new_apply_cnt, new_contact_cnt, chat_cnt, message_cnt,
    reply_percentage, avg_reply_time, negative_feedback_cnt}]}` for ``userid`` over first..last."""
    if last < first or (last - first).days + 1 > MAX_SPAN_DAYS:
        raise ValueError(f"a span of 1 to {MAX_SPAN_DAYS} days")
    body = {"userid": [userid], "start_time": day_timestamp(first), "end_time": day_timestamp(last)}
    return client.call("POST", "externalcontact/get_user_behavior_data", json=body)
