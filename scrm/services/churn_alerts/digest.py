"""The daily digest of newly dormant customers: once the corp-local clock passes
SCRM_CHURN_DIGEST_AT (default 09:00) and that day's churn scoring has scored, one alert row per
relation the night's scoring moved to dormant (from another level), for its member. The sender
puts all of a member's rows into one message (up to SCRM_CHURN_ALERT_NAMES names and the count).

Once per corp and local day however many schedulers tick or restart: a ChurnDigestRun row is
claimed (scrm/services/daily_runs.py), and each row's dedupe key (relation and day) makes a run
taken over from a dead worker add nothing twice. One INSERT … SELECT per corp (set-based).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, literal, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import AlertKind, AlertStatus, ChurnAlert, ChurnDigestRun, ChurnRun, RelationRisk, Staff
from scrm.models.churn import RiskLevel
from scrm.services import localtime
from scrm.services.corps import corps_to_sync
from scrm.services.daily_runs import claim_daily_run

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STALE_RUN = timedelta(minutes=10)


def scored_today(corp_id: str, day: date) -> bool:
    """The churn scoring of local ``day`` has written its levels."""
    return bool(db.session.scalar(select(exists().where(
        ChurnRun.corp_id == corp_id, ChurnRun.run_day == day, ChurnRun.relations > 0))))


def insert_dormant(corp_id: str, day: date, now: datetime) -> int:
    """One pending alert per relation that became dormant in the scoring of local ``day``."""
    r = RelationRisk
    left = exists().where(Staff.corp_id == corp_id, Staff.userid == r.userid, Staff.left_at.is_not(None))
    query = select(
        literal(corp_id, String).label("corp_id"), literal(AlertKind.DORMANT.value, String).label("kind"),
        r.userid.label("recipient_userid"), r.userid.label("about_userid"), r.external_userid, r.relation_id,
        literal(day).label("day"),
        (literal("dormant:", String) + cast(r.relation_id, String) + literal(f":{day.isoformat()}", String))
        .label("dedupe_key"),
        literal(AlertStatus.PENDING.value, String).label("status"), literal(0).label("attempts"),
        literal(now).label("created_at"),
    ).where(r.corp_id == corp_id, r.level == RiskLevel.DORMANT,
            and_(r.previous_level.is_not(None), r.previous_level != RiskLevel.DORMANT),
            r.level_changed_at >= localtime.midnight(day),
            r.level_changed_at < localtime.midnight(day + timedelta(days=1)),
            ~left)
    columns = ["corp_id", "kind", "recipient_userid", "about_userid", "external_userid", "relation_id", "day",
               "dedupe_key", "status", "attempts", "created_at"]
    db.session.execute(dialect_insert()(ChurnAlert).from_select(columns, query).on_conflict_do_nothing())
    # Counted, not rowcount: psycopg reports -1 for this INSERT (the rows this statement added
    # are the ones stamped `now`; a takeover's conflicting rows keep their first stamp).
    return db.session.scalar(select(func.count()).where(
        ChurnAlert.corp_id == corp_id, ChurnAlert.created_at == now, ChurnAlert.kind == AlertKind.DORMANT,
        ChurnAlert.day == day)) or 0


def create_digests(now: datetime) -> int:
    """The sweep's digest half. Returns the alert rows created."""
    at = settings().churn_digest_at
    local = localtime.to_local(now)
    if not at or local.strftime("%H:%M") < at:
        return 0
    day = local.date()
    created = 0
    for corp_id in corps_to_sync():
        if not scored_today(corp_id, day):
            continue  # the scoring has not run yet today (or failed before scoring): wait for it
        run = claim_daily_run(ChurnDigestRun, corp_id, day, now, max_attempts=MAX_ATTEMPTS, stale_after=STALE_RUN)
        if run is None:
            continue
        run_id = run.id
        added = insert_dormant(corp_id, day, now)
        db.session.execute(update(ChurnDigestRun).where(ChurnDigestRun.id == run_id).values(
            status="done", alerts=added, finished_at=utcnow()))
        db.session.commit()
        log.info("churn digest of %s for %s: %d relations", corp_id, day, added)
        created += added
    return created
