"""Reads of the churn scores: one relation's risk (the sidebar's `risk_for`, the Open API's
detail) and churn by staff member, by channel and by month.

"Lost in a period" counts relations that ended in it (the customer deleted the member, the
member deleted the customer: status_changed_at) and relations whose current level is `lost` or
`dormant` and that reached it in it (level_changed_at); a relation that went dormant and came
back is no longer counted (the timeline keeps every change)."""
from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select

from scrm.clock import utcnow
from scrm.extensions import core_execute, db
from scrm.models import Channel, FollowRelation, RelationRisk, RelationStatus, StaffBehaviorDay
from scrm.models.churn import RISK_LABELS, RiskLevel
from scrm.services import localtime
from scrm.services.churn.score import corp_defaults
from scrm.services.group_stats.aggregate import _day_table, local_midnight

REASON_TEXT = {RelationStatus.DELETED_BY_CUSTOMER: "客户已删除你", RelationStatus.DELETED_BY_STAFF: "你已删除客户",
               RelationStatus.DELETED_UNKNOWN: "好友关系已不存在"}
TREND_TEXT = {"up": "互动上升", "down": "互动下降", "flat": "互动持平"}


def trend(active_days_30: int, active_days_90: int) -> str:
    """The last 30 days against the average 30 days of the 60 before."""
    before = (active_days_90 - active_days_30) / 2
    return "up" if active_days_30 > before else "down" if active_days_30 < before else "flat"


def _days(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, (now - since).days)


# Built once (every sidebar profile asks; it also reads it in one batch with the profile's other
# reads, scrm/services/profile/reads.py), bound per call; the columns risk_view reads by name, not
# an ORM object.
RISK_COLUMNS = ("userid", "external_userid", "level", "score", "recency", "frequency", "engagement", "reason",
                "silent_since", "last_interaction_at", "last_inbound_at", "active_days_30", "active_days_90",
                "reply_days_90", "in_group", "previous_level", "level_changed_at", "scored_at")
risk_query = functools.cache(lambda: select(*(RelationRisk.__table__.c[name] for name in RISK_COLUMNS)).where(
    RelationRisk.corp_id == bindparam("corp_id"), RelationRisk.userid == bindparam("userid"),
    RelationRisk.external_userid == bindparam("external_userid")))


def risk_for(corp_id: str, userid: str, external_userid: str, now: datetime | None = None) -> dict | None:
    """The relation's risk as last scored, or None before its first scoring. Days silent are
    counted to ``now``; `reasons` are display texts (Simplified Chinese, no customer text)."""
    row = core_execute(risk_query(), {"corp_id": corp_id, "userid": userid,
                                      "external_userid": external_userid}).first()
    return risk_from_row(row, now)


def risk_from_row(row: Any, now: datetime | None = None) -> dict | None:
    """risk_for() of a risk_query() row (None: no row)."""
    if row is None or row.level is None:
        return None
    return risk_view(row, now or utcnow())


def risk_view(row: Any, now: datetime) -> dict[str, Any]:
    """``row``: a RelationRisk, or a row of the relation_risk table's columns."""
    silent = _days(row.silent_since, now)
    direction = trend(row.active_days_30, row.active_days_90)
    reasons = []
    if row.reason in REASON_TEXT:
        reasons.append({"code": row.reason, "text": REASON_TEXT[row.reason]})
    if silent is not None:
        text = f"已 {silent} 天无互动" if row.last_interaction_at else f"添加后 {silent} 天无互动"
        reasons.append({"code": "days_silent", "text": text})
    reasons.append({"code": f"trend_{direction}",
                    "text": f"{TREND_TEXT[direction]}（近30天 {row.active_days_30} 天有互动）"})
    return {
        "userid": row.userid, "external_userid": row.external_userid,
        "level": row.level, "label": RISK_LABELS[RiskLevel(row.level)], "score": row.score,
        "recency": row.recency, "frequency": row.frequency, "engagement": row.engagement,
        "days_silent": silent, "last_interaction_at": row.last_interaction_at,
        "last_inbound_at": row.last_inbound_at, "silent_since": row.silent_since,
        "active_days_30": row.active_days_30, "active_days_90": row.active_days_90,
        "reply_days_90": row.reply_days_90, "in_group": bool(row.in_group), "trend": direction,
        "previous_level": row.previous_level, "level_changed_at": row.level_changed_at,
        "scored_at": row.scored_at, "reasons": reasons,
    }


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _window(first: date, last: date) -> tuple[datetime, datetime]:
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def _figures(first: date, last: date) -> dict[str, Any]:
    r, fr = RelationRisk, FollowRelation
    start, end = _window(first, last)
    ended_in = and_(fr.status_changed_at >= start, fr.status_changed_at < end)
    reached = and_(r.level_changed_at >= start, r.level_changed_at < end)
    return {
        "relations": func.count(r.id),
        **{level.value: _count(r.level == level.value) for level in RiskLevel},
        "deleted_by_customer": _count(and_(fr.status == RelationStatus.DELETED_BY_CUSTOMER.value, ended_in)),
        "deleted_by_staff": _count(and_(fr.status == RelationStatus.DELETED_BY_STAFF.value, ended_in)),
        "became_dormant": _count(and_(r.level == RiskLevel.DORMANT.value, reached)),
        "became_lost": _count(and_(r.level == RiskLevel.LOST.value, reached)),
        "average_score": func.avg(r.score),
    }


def _base(corp_id: str, *columns):
    r, fr = RelationRisk, FollowRelation
    return (select(*columns).select_from(r)
            .join(fr, fr.id == r.relation_id)
            .where(r.corp_id == corp_id))


def _rows(result, keys: list[str]) -> list[dict[str, Any]]:
    out = []
    for values in result:
        row = dict(zip(keys, values, strict=True))
        row["average_score"] = None if row["average_score"] is None else round(float(row["average_score"]), 1)
        out.append(row)
    return out


def by_staff(corp_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Per staff member: relations by level, losses in the period, and WeCom's own counts over it
    (negative_feedback_cnt: customers who deleted or blocked the member; chats, reply rate)."""
    figures = _figures(first, last)
    r = RelationRisk
    rows = _rows(db.session.execute(_base(corp_id, r.userid, *figures.values())
                                    .group_by(r.userid).order_by(r.userid)), ["userid", *figures])
    b = StaffBehaviorDay
    wecom = {userid: (int(neg or 0), int(chats or 0), None if rate is None else round(float(rate), 2),
                      None if reply is None else round(float(reply), 1))
             for userid, neg, chats, rate, reply in db.session.execute(
                 select(b.userid, func.sum(b.negative_feedback_cnt), func.sum(b.chat_cnt),
                        func.avg(b.reply_percentage), func.avg(b.avg_reply_time))
                 .where(b.corp_id == corp_id, b.day.between(first, last)).group_by(b.userid))}
    for row in rows:
        neg, chats, rate, reply = wecom.get(row["userid"], (None, None, None, None))
        row.update(wecom_negative_feedback=neg, wecom_chats=chats, wecom_reply_percentage=rate,
                   wecom_avg_reply_minutes=reply)
    return rows


def by_channel(corp_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Per channel code the relation was added through (its `state`); relations without one
    under channel None."""
    figures = _figures(first, last)
    fr = FollowRelation
    rows = _rows(db.session.execute(_base(corp_id, fr.state, *figures.values())
                                    .group_by(fr.state).order_by(fr.state)), ["state", *figures])
    names = {state: name for state, name in db.session.execute(
        select(Channel.state, func.max(Channel.name)).where(Channel.corp_id == corp_id).group_by(Channel.state))}
    for row in rows:
        row["channel"] = names.get(row["state"])
    return rows


def months(first: date, last: date) -> list[tuple[date, date]]:
    out, start = [], first
    while start <= last:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(last, following - timedelta(days=1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def by_month(corp_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Per corp-local month of first..last: relations that ended (by whom) and relations that
    reached dormant / lost in it (their current level)."""
    r, fr = RelationRisk, FollowRelation
    buckets = _day_table(months(first, last))
    start, end = buckets.c.start_at, buckets.c.end_at
    ended = (select(buckets.c.day,
                    _count(fr.status == RelationStatus.DELETED_BY_CUSTOMER.value),
                    _count(fr.status == RelationStatus.DELETED_BY_STAFF.value))
             .select_from(buckets)
             .outerjoin(fr, and_(fr.corp_id == corp_id, fr.status_changed_at >= start, fr.status_changed_at < end,
                                 fr.status.in_([RelationStatus.DELETED_BY_CUSTOMER.value,
                                                RelationStatus.DELETED_BY_STAFF.value])))
             .group_by(buckets.c.day))
    reached = (select(buckets.c.day, _count(r.level == RiskLevel.DORMANT.value),
                      _count(r.level == RiskLevel.LOST.value))
               .select_from(buckets)
               .outerjoin(r, and_(r.corp_id == corp_id, r.level_changed_at >= start, r.level_changed_at < end,
                                  r.level.in_([RiskLevel.DORMANT.value, RiskLevel.LOST.value])))
               .group_by(buckets.c.day))

    def key(value) -> str:
        return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).strftime("%Y-%m")

    rows = {key(day): {"month": key(day), "deleted_by_customer": int(by_customer), "deleted_by_staff": int(by_staff),
                       "became_dormant": 0, "became_lost": 0}
            for day, by_customer, by_staff in db.session.execute(ended)}
    for day, dormant, lost in db.session.execute(reached):
        rows[key(day)].update(became_dormant=int(dormant), became_lost=int(lost))
    return [rows[month] for month in sorted(rows)]


def thresholds(corp_id: str) -> dict[str, int]:
    d = corp_defaults(corp_id)
    return {"cooling_days": d.cooling_days, "dormant_days": d.dormant_days, "lost_days": d.lost_days}


def local_today() -> date:
    return localtime.to_local(utcnow()).date()
