"""What each channel code cost (渠道成本), entered by operators per calendar month in fen, and the
cost that falls on a range of days.

Rule (docs/reports.md): a month's amount is spread evenly over its days; a range bears, for each
month it touches, amount × (days of the month inside the range) / (days of the month), summed and
rounded to the fen. A whole month in the range bears its whole amount."""
from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Channel, ChannelCost
from scrm.services import access


class UnknownChannel(LookupError):
    pass


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def costs(corp_id: str, first_month: date, last_month: date, channel_id: int | None = None) -> list[ChannelCost]:
    c = ChannelCost
    query = (select(c).where(c.corp_id == corp_id, c.month.between(month_start(first_month), month_start(last_month)))
             .order_by(c.month, c.channel_id))
    if channel_id is not None:
        query = query.where(c.channel_id == channel_id)
    return list(db.session.scalars(query))


def set_cost(corp_id: str, channel_id: int, month: date, amount_fen: int, actor: str) -> ChannelCost:
    """Record (or replace) a channel code's cost for a month; audited; commits."""
    if db.session.scalar(select(Channel.id).where(Channel.corp_id == corp_id, Channel.id == channel_id)) is None:
        raise UnknownChannel(channel_id)
    month = month_start(month)
    row = db.session.scalar(select(ChannelCost).where(
        ChannelCost.corp_id == corp_id, ChannelCost.channel_id == channel_id, ChannelCost.month == month))
    if row is None:
        row = ChannelCost(corp_id=corp_id, channel_id=channel_id, month=month, amount_fen=amount_fen)
        db.session.add(row)
    row.amount_fen, row.updated_by, row.updated_at = amount_fen, actor, utcnow()
    access.audit(corp_id, actor, "channel_cost_set", "channel", str(channel_id),
                 detail={"month": month.isoformat()[:7], "amount_fen": amount_fen})
    db.session.commit()
    return row


def delete_cost(corp_id: str, channel_id: int, month: date, actor: str) -> bool:
    row = db.session.scalar(select(ChannelCost).where(
        ChannelCost.corp_id == corp_id, ChannelCost.channel_id == channel_id, ChannelCost.month == month_start(month)))
    if row is None:
        return False
    db.session.delete(row)
    access.audit(corp_id, actor, "channel_cost_delete", "channel", str(channel_id),
                 detail={"month": month.isoformat()[:7]})
    db.session.commit()
    return True


def cost_in_range(corp_id: str, first: date, last: date) -> dict[int, int]:
    """channel_id → the fen the range bears (only channels with a cost entered for a month it touches)."""
    spread: dict[int, float] = defaultdict(float)
    for row in costs(corp_id, first, last):
        month_first, month_last = row.month, month_end(row.month)
        inside = (min(last, month_last) - max(first, month_first)).days + 1
        if inside > 0:
            spread[row.channel_id] += row.amount_fen * inside / month_last.day
    return {channel_id: round(value) for channel_id, value in spread.items()}
