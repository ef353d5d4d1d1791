"""Turning the nightly level changes into recalls, in set-based SQL.

After each corp's nightly churn run has scored (a ChurnRun newer than the corp's RecallScan), one
INSERT … SELECT per active playbook, in priority order (lowest first, then id), creates a recall
for every relation that

* entered the playbook's trigger level in the last ENTRY_WINDOW (relation_risk.level_changed_at:
  cooling, dormant, lost by silence, or lost because the customer deleted the member) from
  another level, or as its first level when the relation was added after the corp's first
  nightly run (a relation that went silent, or was deleted, before any night scored it); a
  first assessment of a relation older than that is not an entry: turning churn scoring on does
  not recall every customer already silent,
* is still in the state the action needs (an active relation for mass_send / reminder, one the
  customer deleted for contact),
* matches the playbook's segment (a corp tag on the relation, the customer's funnel stage),
* was not recalled (by any playbook) within the cool-down (the playbook's, else
  SCRM_RECALL_COOLDOWN_DAYS): since each insert sees the previous ones, a relation matching two
  playbooks gets one recall, from the one with the lowest priority;
* has no recall yet for this entry into the level (unique relation_id + entered_at: a run
  repeated, or a scan after a crash, adds nothing).

Recalls are due at the next SCRM_RECALL_SEND_AT local time (not at 04:30 in the morning).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, exists, func, insert, literal, or_, select

from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    ChurnRun,
    CustomerStage,
    FollowRelation,
    PlaybookStatus,
    Recall,
    RecallAction,
    RecallPlaybook,
    RecallScan,
    RecallStatus,
    RecallTrigger,
    RelationRisk,
    RelationStatus,
    RelationTag,
)
from scrm.services import localtime

ENTRY_WINDOW = timedelta(days=2)  # a scan after a missed night still sees yesterday's changes
LEVELS = {RecallTrigger.COOLING: ("cooling", None), RecallTrigger.DORMANT: ("dormant", None),
          RecallTrigger.LOST: ("lost", "silent"), RecallTrigger.DELETED_BY_CUSTOMER: ("lost", "deleted_by_customer")}


def due_time(now: datetime) -> datetime:
    """The next SCRM_RECALL_SEND_AT (corp-local) at or after ``now``; ``now`` when off."""
    at = settings().recall_send_at
    if not at:
        return now
    target = localtime.at_local(localtime.to_local(now).date(), at)
    return target if target >= now else localtime.at_local(localtime.to_local(now).date() + timedelta(days=1), at)


def _candidates(playbook: RecallPlaybook, now: datetime, due_at: datetime):
    r, fr = RelationRisk, FollowRelation
    level, reason = LEVELS[RecallTrigger(playbook.trigger)]
    wanted = RelationStatus.DELETED_BY_CUSTOMER if playbook.action == RecallAction.CONTACT else RelationStatus.ACTIVE
    cooldown = timedelta(days=playbook.cooldown_days or settings().recall_cooldown_days)
    x = Recall
    first_run = (select(func.min(ChurnRun.started_at)).where(ChurnRun.corp_id == playbook.corp_id)
                 .scalar_subquery())
    conditions = [
        # an entry from another level, or the first level of a relation added since the corp's
        # first nightly run (that run does not recall everyone already silent)
        r.corp_id == playbook.corp_id, r.level == level,
        or_(r.previous_level.is_not(None), func.coalesce(fr.added_at, fr.created_at) > first_run),
        r.level_changed_at >= now - ENTRY_WINDOW,
        r.level_changed_at <= now, fr.status == wanted,
        ~exists().where(x.corp_id == r.corp_id, x.userid == r.userid, x.external_userid == r.external_userid,
                        x.status != RecallStatus.CANCELLED, x.created_at > now - cooldown),
        ~exists().where(x.relation_id == r.relation_id, x.entered_at == r.level_changed_at),
    ]
    if reason is not None:
        conditions.append(r.reason == reason)
    segment = playbook.segment or {}
    if segment.get("tag_ids"):
        conditions.append(exists().where(RelationTag.corp_id == r.corp_id, RelationTag.userid == r.userid,
                                         RelationTag.external_userid == r.external_userid,
                                         RelationTag.tag_id.in_(segment["tag_ids"])))
    if segment.get("stage_ids"):
        conditions.append(exists().where(CustomerStage.corp_id == r.corp_id,
                                         CustomerStage.external_userid == r.external_userid,
                                         CustomerStage.stage_id.in_(segment["stage_ids"])))
    return (select(r.corp_id, literal(playbook.id), r.relation_id, r.userid, r.external_userid,
                   literal(playbook.trigger, String), literal(playbook.action, String), r.level_changed_at,
                   literal(due_at), literal(RecallStatus.PENDING.value, String), literal(0), literal(now))
            .select_from(r).join(fr, fr.id == r.relation_id).where(and_(*conditions)))


COLUMNS = ["corp_id", "playbook_id", "relation_id", "userid", "external_userid", "trigger", "action", "entered_at",
           "due_at", "status", "attempts", "created_at"]


def create_recalls(corp_id: str, now: datetime) -> int:
    """Recalls for the relations that entered a playbook's level (see the module). The caller
    commits. Returns how many were created."""
    playbooks = list(db.session.scalars(select(RecallPlaybook).where(
        RecallPlaybook.corp_id == corp_id, RecallPlaybook.status == PlaybookStatus.ACTIVE)
        .order_by(RecallPlaybook.priority, RecallPlaybook.id)))
    if not playbooks:
        return 0
    before = _count(corp_id)
    due_at = due_time(now)
    for playbook in playbooks:
        db.session.execute(insert(Recall).from_select(COLUMNS, _candidates(playbook, now, due_at),
                                                      include_defaults=False))
    # (INSERT … SELECT has no reliable rowcount through psycopg: count instead.)
    return _count(corp_id) - before


def _count(corp_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Recall).where(Recall.corp_id == corp_id)) or 0


def scan(now: datetime) -> int:
    """Create the recalls of each corp's latest scored nightly run, once per run (the corps whose
    latest scored ChurnRun is newer than their RecallScan). Commits per corp. Returns how many."""
    latest = (select(ChurnRun.corp_id, func.max(ChurnRun.id).label("run_id"))
              .where(or_(ChurnRun.relations > 0, ChurnRun.status == "done"))
              .group_by(ChurnRun.corp_id).subquery("latest"))
    due = db.session.execute(
        select(latest.c.corp_id, latest.c.run_id)
        .outerjoin(RecallScan, RecallScan.corp_id == latest.c.corp_id)
        .where(or_(RecallScan.id.is_(None), RecallScan.churn_run_id < latest.c.run_id))).all()
    created = 0
    for corp_id, run_id in due:
        created += create_recalls(corp_id, now)
        row = db.session.scalar(select(RecallScan).filter_by(corp_id=corp_id))
        if row is None:
            db.session.add(RecallScan(corp_id=corp_id, churn_run_id=run_id, scanned_at=now))
        else:
            row.churn_run_id, row.scanned_at = run_id, now
        db.session.commit()
    return created


__all__ = ["create_recalls", "due_time", "scan"]
