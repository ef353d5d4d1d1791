"""Creating group SOP executions ahead, and the ``group-sop`` sweep that runs them.

Executions are inserted set-based (INSERT ... ON CONFLICT DO NOTHING on the unique (plan, step,
group, member, due_at)), so planning is idempotent and two schedulers create each execution once:

* fixed schedules: the plan's occurrences within SCRM_GROUP_SOP_HORIZON_DAYS × the groups the
  targets match now, one INSERT ... SELECT per plan when it is created, edited or resumed; every
  PLAN_EVERY the occurrences that entered the horizon, and every occurrence for the groups
  changed since (incremental.py, one INSERT for all the plans);
* relative schedules: for each group created / customer who joined since the plan started,
  every step of the series due PLAN_GRACE ago or later: per plan when it is created, edited or
  resumed; then each planning run, for all the corp's plans at once, for the rows written since
  the last look less EVENT_MARGIN (incremental.py).

The sweep runs every minute and plans every SCRM_GROUP_SOP_PLAN_MINUTES (default 10, 1 in sandbox
mode; the last run's time is PLANNED_KEY in Redis): a step due at the event or minutes after it
runs up to that many minutes late, the others are planned ahead and run on time. A planning run
costs about the same for one minute's new rows as for ten, so this divides the day's planning
work by about that much.
The sweep then enqueues a run per (plan, step, owner) with executions due (RUNS_PER_JOB runs a
job), marking them
``queued_at`` so a waiting job is not enqueued again every minute (a lost one is after
REQUEUE_AFTER), and one result check per mass-send ``msgid`` due.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

import redis
from sqlalchemy import DateTime, String, and_, bindparam, exists, literal, select, true, union_all, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import (
    ExecutionStatus,
    GroupChat,
    GroupMember,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
    GroupSopStep,
    ScheduleKind,
    Staff,
)
from scrm.queueing import QUEUES, enqueue_many, redis_connection
from scrm.services.group_sop import incremental, plan_cache, schedule, targets, tidying

PLAN_EVERY = timedelta(minutes=10)   # fixed schedules: re-evaluate the targets this often
EVENT_MARGIN = timedelta(minutes=2)   # relative schedules: clock skew between the processes writing group rows
REQUEUE_AFTER = timedelta(minutes=10)  # a queued execution still pending this long is enqueued again
CHECK_LEASE = timedelta(minutes=5)
STALE_AFTER = timedelta(hours=24)      # more than this late: skipped, not sent late
log = logging.getLogger(__name__)
RUN_JOB, CHECK_JOB = "jobs.group_sop.run_batches", "jobs.group_sop.check_msg"
INSERT_COLUMNS = ("corp_id", "plan_id", "step_id", "chat_id", "member_id", "owner", "delivery", "due_at",
                  "status", "attempts", "created_at")


def live_steps(plan_ids: list[int]) -> dict[int, list[GroupSopStep]]:
    result: dict[int, list[GroupSopStep]] = {plan_id: [] for plan_id in plan_ids}
    for step in db.session.scalars(select(GroupSopStep).where(
            GroupSopStep.plan_id.in_(plan_ids), GroupSopStep.deleted.is_(False))
            .order_by(GroupSopStep.position, GroupSopStep.id)):
        result[step.plan_id].append(step)
    return result


def _insert(select_stmt) -> int:
    stmt = dialect_insert()(GroupSopExecution).from_select(INSERT_COLUMNS, select_stmt).on_conflict_do_nothing()
    return len(db.session.execute(stmt.returning(GroupSopExecution.id)).all())  # rowcount: -1 on psycopg


def _row(plan, step, member, due, now: datetime):
    return (literal(plan.corp_id, String), literal(plan.id), literal(step.id), GroupChat.chat_id, member,
            GroupChat.owner, literal(plan.delivery, String), due, literal(ExecutionStatus.PENDING.value, String),
            literal(0), literal(now, DateTime))


def plan_one(plan, now: datetime, steps: list | None = None, *, dues: list[datetime] | None = None) -> int:
    """Create the plan's executions that are missing (the caller commits). Returns rows added.
    Fixed schedules: ``dues`` (default: every occurrence in the horizon), for every group the
    targets match. ``plan`` and ``steps``: ORM objects or Core rows (plan_cache.load)."""
    steps = live_steps([plan.id])[plan.id] if steps is None else steps
    if plan.status != GroupSopStatus.ACTIVE or not steps:
        return 0
    if not ScheduleKind(plan.schedule["kind"]).relative:
        return _insert_fixed([(plan, steps, dues)], now)
    return _plan_relative([(plan, steps)], now)


PARAMS_PER_STATEMENT = 20_000  # bind parameters (PostgreSQL allows 65,535, SQLite 32,766)


def _insert_fixed(batch: list[tuple], now: datetime) -> int:
    """Fixed plans' (plan, steps, dues: None = every occurrence in the horizon) executions for every
    group their targets match: one INSERT ... SELECT of a UNION ALL of the plans' SELECTs per
    UNION_CHUNK plans or PARAMS_PER_STATEMENT bind parameters."""
    horizon = timedelta(days=settings().group_sop_horizon_days)
    parts, params, added = [], 0, 0
    for plan, steps, dues in batch:
        dues = schedule.occurrences(plan.schedule, now, now + horizon) if dues is None else dues
        if not dues or not steps:
            continue
        occ = union_all(*(select(literal(due, DateTime).label("due_at")) for due in dues)).subquery()
        parts.append(select(*_row(plan, steps[0], literal("", String), occ.c.due_at, now))
                     .select_from(GroupChat).join(occ, true()).where(targets.clause(plan.corp_id, plan.targets or {})))
        params += 16 + len(dues) + sum(len(v) for v in (plan.targets or {}).values() if isinstance(v, list))
        if len(parts) >= UNION_CHUNK or params >= PARAMS_PER_STATEMENT:
            added += _insert(parts[0] if len(parts) == 1 else union_all(*parts))
            parts, params = [], 0
    if parts:
        added += _insert(parts[0] if len(parts) == 1 else union_all(*parts))
    return added


def _events(plan, steps: list):
    """The plan's events (group created / customer joined since the plan started) that have no
    execution yet: (plan_id, chat_id, member_id, at, owner)."""
    # WeCom's event times are whole seconds: an event in the second the plan started counts.
    since = plan.starts_at.replace(microsecond=0)
    where = targets.clause(plan.corp_id, plan.targets or {})
    E = GroupSopExecution  # noqa: N806
    step_ids = [s.id for s in steps]
    if ScheduleKind(plan.schedule["kind"]) == ScheduleKind.GROUP_CREATED:
        return select(literal(plan.id).label("plan_id"), GroupChat.chat_id, literal("", String).label("member_id"),
                      GroupChat.create_time.label("at"), GroupChat.owner).where(
            where, GroupChat.create_time >= since, ~exists().where(
                E.plan_id == plan.id, E.step_id.in_(step_ids), E.chat_id == GroupChat.chat_id,
                E.member_id == "", E.due_at >= GroupChat.create_time))
    return select(literal(plan.id).label("plan_id"), GroupMember.chat_id, GroupMember.member_id,
                  GroupMember.join_time.label("at"), GroupChat.owner).join(
        GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id, GroupChat.chat_id == GroupMember.chat_id)).where(
        where, GroupMember.corp_id == plan.corp_id, GroupMember.type == 2, GroupMember.quit_time.is_(None),
        GroupMember.join_time >= since, ~exists().where(
            E.plan_id == plan.id, E.step_id.in_(step_ids), E.chat_id == GroupMember.chat_id,
            E.member_id == GroupMember.member_id, E.due_at >= GroupMember.join_time))


UNION_CHUNK = 100  # plans per events statement (SQLite allows 500 compound SELECTs)


def _plan_relative(batch: list[tuple], now: datetime) -> int:
    """Executions for every event of relative plans planned for the first time (created, edited,
    resumed): one SELECT per UNION_CHUNK plans, one INSERT."""
    batch = [(plan, steps) for plan, steps in batch if steps]
    by_id = {plan.id: (plan, steps) for plan, steps in batch}
    values = []
    for start in range(0, len(batch), UNION_CHUNK):
        parts = [_events(plan, steps) for plan, steps in batch[start:start + UNION_CHUNK]]
        for plan_id, chat_id, member_id, at, owner in db.session.execute(
                parts[0] if len(parts) == 1 else union_all(*parts)).all():
            values += incremental.relative_rows(*by_id[plan_id], chat_id, member_id, owner, at, now)
    return incremental.insert_rows(values)


_ACTIVE_PLANS = select(GroupSop.id, GroupSop.corp_id, GroupSop.schedule["kind"].as_string(), GroupSop.planned_at,
                       GroupSop.revision).where(incremental.plans_to_look_at())  # built once
EVENTS_KEY = "scrm:group-sop:events-at:{}"  # per corp: the sweep's `now` up to which relative plans have planned
PLANNED_KEY = "scrm:group-sop:planned-at"    # the `now` of the last committed planning run (any corp)
_last_corp: str | None = None  # the one corp whose relative plans the last planning run planned (if one)


def plan_all(now: datetime) -> int:
    """Plan the active plans due a planning run: fixed schedules every PLAN_EVERY (inserting only
    the occurrences that entered the horizon, and every occurrence for the groups changed since),
    relative ones every sweep for the group and member rows written since they last looked (one
    statement per corp; most minutes stop there). Plans are read as Core rows, the relative ones
    kept in process between sweeps by revision (plan_cache.relative_plans), and each corp's
    changes are planned for all its plans in one INSERT (incremental.py). Where the relative
    plans have looked up to is kept in Redis (EVENTS_KEY), written every sweep after the commit;
    planned_at in the database every PLAN_EVERY (without Redis, the sweep looks back from there:
    planning again adds nothing). Commits. Returns the executions added."""
    planned = _plan(now)
    db.session.commit()
    _planned(planned, now)
    return planned.added


class Planned(NamedTuple):
    added: int        # executions
    corps: list[str]  # whose relative plans looked up to now (_planned: their Redis marks)
    due: bool         # an execution may be due to be claimed (False: enqueue_due need not look)
    claimed: list[tuple] | None = None  # (plan_id, step_id, owner) the read claimed (claim=True)
    ran: bool = True  # False: not a planning minute (_plan's ``every``), nothing read or planned


def _plan(now: datetime, *, claim: bool = False, every: timedelta | None = None) -> Planned:
    """plan_all without the commit and what follows it (_planned). ``claim`` (the sweep): on
    PostgreSQL the read also claims the executions due (incremental.plans_and_events). ``every``
    (the sweep: SCRM_GROUP_SOP_PLAN_MINUTES): nothing is planned, and Planned.ran is False, when
    the last planning run (PLANNED_KEY) was less than that many whole minutes before ``now``."""
    global _last_corp  # noqa: PLW0603 - one str, replaced whole
    # the one corp with relative plans last time: its mark read with the last run's (one MGET)
    last_run, marks = _marks([_last_corp] if _last_corp is not None else [], now)
    if every is not None and last_run is not None and _minute(last_run) <= _minute(now) < _minute(last_run) + every:
        return Planned(0, [], True, None, ran=False)  # not a planning minute: enqueue_due claims what is due
    incremental.forget_unplanned()
    read, due, claimed = {}, True, None
    if marks:
        # A superset of the events of since below (the mark alone, not also the plans' planned_at):
        # planning an event again adds nothing.
        rows, read[_last_corp], due, claimed = incremental.plans_and_events(
            _last_corp, marks[_last_corp][0] - EVENT_MARGIN, now, now - REQUEUE_AFTER, now - PLAN_EVERY, claim=claim)
    else:
        rows = db.session.execute(_ACTIVE_PLANS, {"replan_before": now - PLAN_EVERY}).all()
    first, fixed, relative = [], defaultdict(list), defaultdict(list)
    for plan_id, corp_id, kind, planned_at, revision in rows:
        if planned_at is None:
            first.append(plan_id)
        elif ScheduleKind(kind).relative:
            relative[corp_id].append((plan_id, planned_at, revision))
        elif now - planned_at >= PLAN_EVERY:
            fixed[corp_id].append((plan_id, revision, planned_at))
    plan_cache.keep_cached((plan_id, revision) for plans in relative.values() for plan_id, _, revision in plans)
    added, planned = 0, []
    if set(relative) - set(marks):
        marks = _marks(list(relative), now)[1]
    _last_corp = next(iter(relative)) if len(relative) == 1 else None
    for corp_id, plans in relative.items():  # one statement per corp when nothing was written
        since = max([min(planned_at for _, planned_at, _ in plans), *marks.get(corp_id, [])]) - EVENT_MARGIN
        rows_added, due_now = incremental.plan_events(
            corp_id, [(plan_id, revision) for plan_id, _, revision in plans], since, now, read.get(corp_id))
        added, due = added + rows_added, due or due_now
        planned += [plan_id for plan_id, planned_at, _ in plans if now - planned_at >= PLAN_EVERY]
    for corp_id, keys in fixed.items():
        added += _plan_fixed(corp_id, keys, now)
        planned += [plan_id for plan_id, _, _ in keys]
        due = True
    if first:
        due = True
        plans, steps = plan_cache.load(first)
        added += _insert_fixed([(p, steps[p.id], None) for p in plans if not ScheduleKind(p.schedule["kind"]).relative],
                               now)
        added += _plan_relative([(p, steps[p.id]) for p in plans if ScheduleKind(p.schedule["kind"]).relative], now)
        planned += first
    if planned:  # one statement, not one UPDATE per plan
        db.session.execute(update(GroupSop).where(GroupSop.id.in_(planned))
                           .values(planned_at=now)
                           .execution_options(synchronize_session=False))
    return Planned(added, list(relative), due, claimed)


def _planned(planned: Planned, now: datetime) -> None:
    """After the planning run's commit: the Redis marks, the events planned (incremental's memo)."""
    if planned.ran:
        _set_marks(planned.corps, now)
        incremental.planned()


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _marks(corp_ids: list[str], now: datetime) -> tuple[datetime | None, dict[str, list[datetime]]]:
    """When the last planning run ran (PLANNED_KEY; None: unknown) and the corps' EVENTS_KEY marks
    no later than ``now``: one MGET (nothing known when Redis fails: the sweep then plans, looking
    back from planned_at)."""
    try:
        values = redis_connection().mget([PLANNED_KEY, *(EVENTS_KEY.format(corp_id) for corp_id in corp_ids)])
    except redis.RedisError as exc:
        log.warning("group SOP planning marks unreadable, planning from planned_at: %s", exc)
        return None, {}
    last_run, *values = [None if value is None else datetime.fromisoformat(value.decode()) for value in values]
    return last_run, {corp_id: [mark] for corp_id, mark in zip(corp_ids, values, strict=True)
                      if mark is not None and mark <= now}


def _set_marks(corp_ids: list[str], now: datetime) -> None:
    """PLANNED_KEY and the corps' EVENTS_KEY marks: ``now`` (one MSET)."""
    try:
        redis_connection().mset({PLANNED_KEY: now.isoformat(),
                                 **{EVENTS_KEY.format(corp_id): now.isoformat() for corp_id in corp_ids}})
    except redis.RedisError as exc:
        log.warning("group SOP planning marks not written: %s", exc)


def _plan_fixed(corp_id: str, keys: list[tuple[int, str, datetime]], now: datetime) -> int:
    """Fixed plans ((id, revision, planned_at)) last planned PLAN_EVERY ago or more: the occurrences
    that entered the horizon since, for every group (one INSERT ... SELECT for the plans that have
    one); and every occurrence for the groups changed since (one INSERT for all the plans). The
    definitions come from the process's cache by revision (plan_cache.fixed_plans)."""
    plans, steps = plan_cache.fixed_plans(keys, now)
    if not plans:
        return 0
    horizon = timedelta(days=settings().group_sop_horizon_days)
    added = _insert_fixed([(plan, steps[plan.id], schedule.occurrences(
        plan.schedule, max(now, plan.planned_at + horizon), now + horizon)) for plan in plans], now)
    since = min(plan.planned_at for plan in plans) - EVENT_MARGIN
    return added + incremental.plan_changed_groups(corp_id, plans, steps, since, now)


def sweep(now: datetime | None = None) -> int:
    """Tidy, plan (every SCRM_GROUP_SOP_PLAN_MINUTES: a sweep within that many minutes of the
    last planning run only claims), then enqueue due executions (a run per plan, step and owner,
    RUNS_PER_JOB runs a job) and due result checks. Planning and claiming the due executions
    share one transaction (one commit a sweep; the claim sees the executions just planned).
    Returns the runs and checks enqueued."""
    now = now or utcnow()
    tidying.tidy(now)
    _statement_at_a_time()
    minutes = settings().group_sop_plan_minutes
    planned = _plan(now, claim=True, every=timedelta(minutes=minutes) if minutes > 1 else None)
    jobs = enqueue_due(now, anything_due=planned.due, claimed=planned.claimed)  # commits the planning too
    _planned(planned, now)
    _statement_at_a_time()
    return jobs + enqueue_checks(now)


def _statement_at_a_time() -> None:
    """PostgreSQL: the session's next statements up to its commit run in autocommit, each its own
    transaction (no BEGIN and COMMIT round trips: two of the five a sweep would otherwise make).
    The sweep needs no more: each of its statements is atomic and idempotent (INSERT ... ON
    CONFLICT DO NOTHING, the claims' UPDATE ... WHERE ... RETURNING, planned_at written last, so
    a sweep cut short plans again), and a job claims each execution on its own anyway. Nothing
    when the session is already in a transaction."""
    if db.session.get_bind().dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _enqueue_statements():
    """The sweep's two UPDATE ... RETURNING, built once (bind parameters: constant text, prepared
    once by psycopg), without the ORM's session synchronisation."""
    E = GroupSopExecution  # noqa: N806
    now = bindparam("now", type_=DateTime())
    due = incremental.claim_statement()
    checks = (update(E).where(E.status == ExecutionStatus.AWAITING, E.delivery == "mass_send", E.msgid.is_not(None),
                              E.next_check_at <= now)
              .values(next_check_at=bindparam("lease_until", type_=DateTime())).returning(E.msgid)
              .execution_options(synchronize_session=False))
    return due, checks


_DUE, _CHECKS = _enqueue_statements()


RUNS_PER_JOB = 10  # (plan, step, owner) runs per run_batches job: RQ's per-job cost, not the runs', was the most


def enqueue_due(now: datetime, *, anything_due: bool = True, claimed: list[tuple] | None = None) -> int:
    """The (plan, step, owner)s with pending executions due, as run_batches jobs of up to
    RUNS_PER_JOB runs each (one job per run cost ~0.4 ms of RQ's Python a run; each job's time
    limit is the queue's per run); marks the executions queued. Commits (with whatever the
    session holds: the sweep's planning), then enqueues. ``anything_due`` False: the sweep's read
    found none due (or ``claimed`` them already) and planned none due now (no claim). Returns
    the runs enqueued."""
    due = db.session.execute(_DUE, {"now": now, "stale": now - REQUEUE_AFTER}).all() if anything_due else []
    due += claimed or []
    db.session.commit()
    runs = sorted({(plan_id, step_id, owner or "") for plan_id, step_id, owner in due})
    if runs:
        as_of, stamp = now.isoformat(), int(now.timestamp())
        chunks = [runs[start:start + RUNS_PER_JOB] for start in range(0, len(runs), RUNS_PER_JOB)]
        # the id names the chunk's runs: two schedulers' jobs differ unless they hold the same runs
        enqueue_many(RUN_JOB, [(f"gsop-{stamp}-{_digest(chunk)}", ([list(run) for run in chunk], as_of))
                               for chunk in chunks],
                     queue="messages", job_timeout=QUEUES["messages"].job_timeout * RUNS_PER_JOB)
    return len(runs)


def _digest(runs: list[tuple]) -> str:
    return hashlib.blake2b(repr(runs).encode(), digest_size=8).hexdigest()


def enqueue_checks(now: datetime) -> int:
    """One check_msg job per mass-send msgid whose result check is due (leased CHECK_LEASE)."""
    checks = db.session.scalars(_CHECKS, {"now": now, "lease_until": now + CHECK_LEASE}).all()
    db.session.commit()
    msgids = sorted(set(checks))
    if msgids:
        as_of, stamp = now.isoformat(), int(now.timestamp())
        enqueue_many(CHECK_JOB, [(f"gsop-check-{m}-{stamp}", (m, as_of)) for m in msgids], queue="messages")
    return len(msgids)


def owner_left(corp_id: str, userid: str | None) -> bool:
    if not userid:
        return True
    row = db.session.execute(select(Staff.status, Staff.left_at).filter_by(corp_id=corp_id, userid=userid)).first()
    return row is not None and (row.status == 5 or row.left_at is not None)
