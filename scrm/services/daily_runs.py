"""Once-a-day runs per corp (the nightly group statistics, the nightly churn scoring): a row per
corp and local day, claimed by exactly one worker; a failed run is tried again up to
``max_attempts`` times, a run whose worker died (still running after ``stale_after``) again."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from scrm.extensions import db


def claim_daily_run(model, corp_id: str, run_day: date, now: datetime, *, max_attempts: int,
                    stale_after: timedelta):
    """This corp's ``model`` row for the day, if this caller is the one to run it now; else None.
    Commits."""
    run = db.session.scalar(select(model).filter_by(corp_id=corp_id, run_day=run_day))
    if run is None:
        try:
            run = model(corp_id=corp_id, run_day=run_day, status="running", attempts=1, started_at=now)
            db.session.add(run)
            db.session.commit()
            return run
        except IntegrityError:  # another worker inserted it first
            db.session.rollback()
            return None
    retry = run.status == "failed" and run.attempts < max_attempts
    stale = run.status == "running" and run.started_at < now - stale_after
    if not (retry or stale):
        return None
    claimed = db.session.execute(
        update(model).where(model.id == run.id, model.attempts == run.attempts)
        .values(status="running", attempts=run.attempts + 1, started_at=now)).rowcount
    db.session.commit()
    return db.session.get(model, run.id) if claimed else None
