"""Planning the morning digest: once the corp-local clock passes SCRM_DIGEST_AT and the night's
report aggregation has run (scrm/services/reports/nightly.py: yesterday's rows are final), one
DigestMessage row per recipient:

* manager: every member whose role is manager or admin (scrm/services/policy; a WeCom
  department leader without a role row is a manager) gets yesterday's totals of the follow-up
  report over the members their data scope covers (scrm/services/reports/follow_up.py);
* staff: every member with next follow-ups overdue now gets their count and the first few
  customers (oldest first), from the report's drill-down query (scrm/services/reports/drill.py),
  counted per member in SQL.

Once per corp and local day however many schedulers tick or restart: the DigestRun row is
claimed (scrm/services/daily_runs.py), and the rows' unique (corp, day, userid, kind) makes a run
taken over from a dead worker add nothing twice.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import DigestKind, DigestMessage, DigestRun, ReportRun, Staff
from scrm.services import localtime, policy
from scrm.services.daily_runs import claim_daily_run
from scrm.services.reports import drill, follow_up
from scrm.services.reports.nightly import MAX_ATTEMPTS as REPORT_ATTEMPTS

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STALE_RUN = timedelta(minutes=10)
CUSTOMERS_SHOWN = 5  # a staff card lists this many overdue customers (a template card shows ≤ 6 rows)
MANAGER_ROLES = (policy.MANAGER, policy.ADMIN)
# The figures a manager's card carries (the follow-up report's totals for yesterday).
MANAGER_FIGURES = ("members", "customers", "new_customers", "lost", "follow_ups", "next_overdue", "sop_pending",
                   "first_replies", "first_reply_avg_seconds", "reply_rate", "chats")


def aggregation_settled(corp_id: str, today: date) -> bool:
    """Yesterday's report rows are final: tonight's run is done (or gave up: the digest then goes
    out with what there is), or the nightly aggregation is off."""
    if settings().reports_at is None:
        return True
    run = db.session.scalar(select(ReportRun).filter_by(corp_id=corp_id, run_day=today))
    return run is not None and (run.status == "done" or (run.status == "failed" and run.attempts >= REPORT_ATTEMPTS))


def plan(corp_id: str, today: date, now: datetime) -> int | None:
    """This corp's digest of local ``today``, if due and not planned yet: the rows added, or None."""
    if not aggregation_settled(corp_id, today):
        return None
    run = claim_daily_run(DigestRun, corp_id, today, now, max_attempts=MAX_ATTEMPTS, stale_after=STALE_RUN)
    if run is None:
        return None
    run_id = run.id
    try:
        rows = [*manager_rows(corp_id, today), *staff_rows(corp_id, today, now)]
        added = _insert(corp_id, today, rows)
    except Exception:
        db.session.rollback()
        db.session.execute(update(DigestRun).where(DigestRun.id == run_id).values(status="failed", finished_at=now))
        db.session.commit()
        raise
    db.session.execute(update(DigestRun).where(DigestRun.id == run_id).values(
        status="done", messages=added, finished_at=now))
    db.session.commit()
    log.info("morning digest of %s planned: %d messages", corp_id, added)
    return added


def manager_rows(corp_id: str, today: date) -> list[tuple[str, str, dict]]:
    yesterday = today - timedelta(days=1)
    out = []
    for member in policy.members(corp_id):
        if member["role"] not in MANAGER_ROLES:
            continue
        visible = policy.visible_userids(corp_id, member["userid"], member["data_scope"])
        report = follow_up.report(corp_id, yesterday, yesterday, visible=visible)
        totals = report["totals"]
        if not totals.get("members"):
            continue  # nobody in scope has figures (a new corp, or an empty department)
        data = {name: totals.get(name) for name in MANAGER_FIGURES}
        data.update(day=yesterday.isoformat(), scope=member["data_scope"])
        out.append((member["userid"], DigestKind.MANAGER, data))
    return out


def staff_rows(corp_id: str, today: date, now: datetime) -> list[tuple[str, str, dict]]:
    """Per member with overdue next follow-ups now: the count and the oldest few (set-based: one
    statement ranks them per member)."""
    overdue = drill.customers_behind(corp_id, "next_overdue", today, today, None, now).subquery()
    ranked = select(overdue.c.userid, overdue.c.external_userid, overdue.c.name, overdue.c.at,
                    func.count().over(partition_by=overdue.c.userid).label("total"),
                    func.row_number().over(partition_by=overdue.c.userid,
                                           order_by=(overdue.c.at, overdue.c.id)).label("n")).subquery()
    active = select(Staff.userid).where(Staff.corp_id == corp_id, Staff.left_at.is_(None))
    rows = db.session.execute(select(ranked).where(ranked.c.n <= CUSTOMERS_SHOWN, ranked.c.userid.in_(active))
                              .order_by(ranked.c.userid, ranked.c.n)).all()
    by_member: dict[str, dict] = {}
    for row in rows:
        data = by_member.setdefault(row.userid, {"overdue": row.total, "customers": [], "as_of": now.isoformat()})
        data["customers"].append({"external_userid": row.external_userid, "name": row.name,
                                  "due_at": row.at.isoformat() if row.at else None})
    return [(userid, DigestKind.STAFF, data) for userid, data in by_member.items()]


def _insert(corp_id: str, day: date, rows: list[tuple[str, str, dict]]) -> int:
    """One INSERT of the rows; those already there (a run taken over from a dead worker) are kept."""
    if not rows:
        return 0
    now = utcnow()
    values = [{"corp_id": corp_id, "day": day, "userid": userid, "kind": str(kind), "data": data, "status": "pending",
               "attempts": 0, "created_at": now} for userid, kind, data in rows]
    return len(db.session.execute(dialect_insert()(DigestMessage).values(values).on_conflict_do_nothing()
                                  .returning(DigestMessage.id)).all())


def plan_due(now: datetime | None = None) -> int:
    """The sweep's planning half: every corp whose digest is due. Returns the rows added."""
    from scrm.services.sync.schedule import corps_to_sync

    at = settings().digest_at
    now = now or utcnow()
    local = localtime.to_local(now)
    if not at or local.strftime("%H:%M") < at:
        return 0
    return sum(plan(corp_id, local.date(), now) or 0 for corp_id in corps_to_sync())
