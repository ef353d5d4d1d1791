"""Recording churn alerts as they happen (inside the callback handler's transaction, so an alert
exists exactly when the deletion it tells of was stored; a redelivered event adds nothing).

* A customer deleted a member (`del_follow_user`): one row for the member and one for their
  manager (scrm/services/org.py manager_of; no manager → the member only).
* A member's day turned unusual: the relations they lost (the customer deleted them) or ended
  themselves (not transfers) since local midnight reach max(SCRM_CHURN_ANOMALY_MIN,
  SCRM_CHURN_ANOMALY_MULTIPLE × their daily average over the 30 days before) → one row for their
  manager, at most once per member, direction and local day.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from scrm.config import settings
from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import AlertKind, AlertStatus, ChurnAlert, FollowRelation, RelationStatus, Staff
from scrm.services import localtime
from scrm.services.org import manager_of

AVERAGE_DAYS = 30
DIRECTIONS = (RelationStatus.DELETED_BY_CUSTOMER, RelationStatus.DELETED_BY_STAFF)


def _add(corp_id: str, kind: str, recipient: str, about: str, dedupe_key: str, now: datetime,
         **values) -> bool:
    return insert_ignoring_conflict(ChurnAlert, {
        "corp_id": corp_id, "kind": kind, "recipient_userid": recipient, "about_userid": about,
        "dedupe_key": dedupe_key, "status": AlertStatus.PENDING, "attempts": 0, "created_at": now, **values})


def _still_here(corp_id: str, userid: str) -> bool:
    """Not known to have left (a member the sync has not stored yet still gets told)."""
    left = db.session.scalar(select(Staff.left_at).filter_by(corp_id=corp_id, userid=userid))
    return left is None


def customer_deleted(corp_id: str, relation: FollowRelation, occurred_at: datetime, now: datetime) -> int:
    """Alert the member a customer deleted, and their manager; then the unusual-day check.
    Returns the rows added."""
    userid, external_userid = relation.userid, relation.external_userid
    stamp = occurred_at.strftime("%Y%m%d%H%M%S")
    recipients = [userid] if _still_here(corp_id, userid) else []
    manager = manager_of(corp_id, userid)
    if manager and manager != userid:
        recipients.append(manager)
    added = 0
    for recipient in recipients:
        added += _add(corp_id, AlertKind.CUSTOMER_DELETED, recipient, userid,
                      f"deleted:{userid}:{external_userid}:{stamp}:{recipient}", now,
                      external_userid=external_userid, relation_id=relation.id)
    added += check_anomaly(corp_id, userid, RelationStatus.DELETED_BY_CUSTOMER, occurred_at, now)
    return added


def anomaly_threshold(average: float) -> int:
    cfg = settings()
    return max(cfg.churn_anomaly_min, math.ceil(cfg.churn_anomaly_multiple * average - 1e-9))


def deletions_per_day(corp_id: str, userid: str, direction: str, day: date) -> tuple[int, float]:
    """(relations of the member that ended this way on local ``day``, the daily average over the
    AVERAGE_DAYS before it). Read from follow_relation's status: a relation re-added since no
    longer counts."""
    start = localtime.midnight(day)
    end = localtime.midnight(day + timedelta(days=1))
    since = localtime.midnight(day - timedelta(days=AVERAGE_DAYS))
    base = (FollowRelation.corp_id == corp_id, FollowRelation.userid == userid, FollowRelation.status == direction)
    today = db.session.scalar(select(func.count()).where(
        *base, FollowRelation.status_changed_at >= start, FollowRelation.status_changed_at < end))
    before = db.session.scalar(select(func.count()).where(
        *base, FollowRelation.status_changed_at >= since, FollowRelation.status_changed_at < start))
    return today or 0, (before or 0) / AVERAGE_DAYS


def check_anomaly(corp_id: str, userid: str, direction: str, occurred_at: datetime, now: datetime) -> int:
    """After one of ``userid``'s relations ended with ``direction``: alert their manager once the
    day's count reaches the threshold (once per member, direction and day). Returns rows added."""
    day = localtime.to_local(occurred_at).date()
    count, average = deletions_per_day(corp_id, userid, direction, day)
    threshold = anomaly_threshold(average)
    if count < threshold:
        return 0
    manager = manager_of(corp_id, userid)
    if not manager or manager == userid:
        return 0
    return int(_add(corp_id, AlertKind.ANOMALY, manager, userid, f"anomaly:{direction}:{userid}:{day.isoformat()}",
                    now, day=day, data={"direction": str(direction), "count": count,
                                        "average": round(average, 2), "threshold": threshold}))


def member_deleted_customer(corp_id: str, userid: str, occurred_at: datetime, now: datetime) -> int:
    """A member ended a relation (not a transfer): only the unusual-day check."""
    return check_anomaly(corp_id, userid, RelationStatus.DELETED_BY_STAFF, occurred_at, now)
