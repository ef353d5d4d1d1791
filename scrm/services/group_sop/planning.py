"""Creating group SOP executions ahead, and the ``group-sop`` sweep that runs them.

Executions are inserted set-based (INSERT ... SELECT ... ON CONFLICT DO NOTHING on the unique
(plan, step, group, member, due_at)), so planning is idempotent and two schedulers create each
execution once:

* fixed schedules: the plan's occurrences within SCRM_GROUP_SOP_HORIZON_DAYS × the groups the
  targets match now, one statement per plan; re-planned every PLAN_EVERY (new groups, labels,
  codes) and at once when the plan is created, edited or resumed;
* relative schedules: for each group created / customer who joined since the plan started (and
  since the last planning run, less a margin), every step of the series, due PLAN_GRACE ago or
  later.

The sweep then enqueues one job per (plan, step, owner) with executions due, marking them
``queued_at`` so a waiting job is not enqueued again every minute (a lost one is after
REQUEUE_AFTER), and one result check per mass-send ``msgid`` due.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, and_, exists, func, literal, or_, select, true, union, union_all, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import (
    ExecutionStatus,
    GroupChat,
    GroupChatStatus,
    GroupCodeChat,
    GroupLabelLink,
    GroupMember,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
    GroupSopStep,
    ScheduleKind,
    Staff,
)
from scrm.queueing import enqueue_many, redis_connection
from scrm.services.group_sop import schedule, targets

PLAN_EVERY = timedelta(minutes=10)   # fixed schedules: re-evaluate the targets this often
EVENT_MARGIN = timedelta(minutes=2)   # relative schedules: clock skew between the processes writing group rows
PLAN_GRACE = timedelta(hours=1)       # an execution already this far past due is not created
REQUEUE_AFTER = timedelta(minutes=10)  # a queued execution still pending this long is enqueued again
CHECK_LEASE = timedelta(minutes=5)
INTERRUPTED_AFTER = timedelta(minutes=10)
TIDY_EVERY = timedelta(minutes=10)    # closing executions of dismissed groups / members who left
REMINDER_GIVE_UP = timedelta(days=3)  # a reminder the owner never sent from the sidebar
STALE_AFTER = timedelta(hours=24)      # more than this late: skipped, not sent late
RUN_JOB, CHECK_JOB = "jobs.group_sop.run_batch", "jobs.group_sop.check_msg"
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


def _row(plan: GroupSop, step: GroupSopStep, member, due, now: datetime):
    return (literal(plan.corp_id, String), literal(plan.id), literal(step.id), GroupChat.chat_id, member,
            GroupChat.owner, literal(plan.delivery, String), due, literal(ExecutionStatus.PENDING.value, String),
            literal(0), literal(now, DateTime))


def plan_one(plan: GroupSop, now: datetime, steps: list[GroupSopStep] | None = None, *,
             dues: list[datetime] | None = None, groups_written_since: datetime | None = None) -> int:
    """Create the plan's executions that are missing (the caller commits). Returns rows added.
    Fixed schedules: ``dues`` (default: every occurrence in the horizon), for the groups written
    (or labelled, or put behind a code) since ``groups_written_since`` only, when given."""
    steps = live_steps([plan.id])[plan.id] if steps is None else steps
    if plan.status != GroupSopStatus.ACTIVE or not steps:
        return 0
    if not ScheduleKind(plan.schedule["kind"]).relative:
        where = targets.clause(plan.corp_id, plan.targets or {})
        if groups_written_since is not None:
            where = and_(where, GroupChat.chat_id.in_(_chats_written_since(plan.corp_id, groups_written_since)))
        if dues is None:
            dues = schedule.occurrences(plan.schedule, now, now + timedelta(days=settings().group_sop_horizon_days))
        if not dues:
            return 0
        occ = union_all(*(select(literal(due, DateTime).label("due_at")) for due in dues)).subquery("occ")
        return _insert(select(*_row(plan, steps[0], literal("", String), occ.c.due_at, now))
                       .select_from(GroupChat).join(occ, true()).where(where))
    return _plan_relative([(plan, steps)], now)


def _events(plan: GroupSop, steps: list[GroupSopStep]):
    """The plan's events (group created / customer joined since the plan started) that have no
    execution yet: (plan_id, chat_id, member_id, at)."""
    # WeCom's event times are whole seconds: an event in the second the plan started counts.
    since = plan.starts_at.replace(microsecond=0)
    where = targets.clause(plan.corp_id, plan.targets or {})
    E = GroupSopExecution  # noqa: N806
    step_ids = [s.id for s in steps]
    if ScheduleKind(plan.schedule["kind"]) == ScheduleKind.GROUP_CREATED:
        return select(literal(plan.id).label("plan_id"), GroupChat.chat_id, literal("", String).label("member_id"),
                      GroupChat.create_time.label("at")).where(
            where, GroupChat.create_time >= since, ~exists().where(
                E.plan_id == plan.id, E.step_id.in_(step_ids), E.chat_id == GroupChat.chat_id,
                E.member_id == "", E.due_at >= GroupChat.create_time))
    return select(literal(plan.id).label("plan_id"), GroupMember.chat_id, GroupMember.member_id,
                  GroupMember.join_time.label("at")).join(
        GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id, GroupChat.chat_id == GroupMember.chat_id)).where(
        where, GroupMember.corp_id == plan.corp_id, GroupMember.type == 2, GroupMember.quit_time.is_(None),
        GroupMember.join_time >= since, ~exists().where(
            E.plan_id == plan.id, E.step_id.in_(step_ids), E.chat_id == GroupMember.chat_id,
            E.member_id == GroupMember.member_id, E.due_at >= GroupMember.join_time))


UNION_CHUNK = 100  # plans per events statement (SQLite allows 500 compound SELECTs)


def _plan_relative(batch: list[tuple[GroupSop, list[GroupSopStep]]], now: datetime) -> int:
    """Executions for every event of relative plans planned for the first time (created, edited,
    resumed): one SELECT per UNION_CHUNK plans, one INSERT."""
    batch = [(plan, steps) for plan, steps in batch if steps]
    if not batch:
        return 0
    by_id = {plan.id: (plan, steps) for plan, steps in batch}
    rows = []
    for start in range(0, len(batch), UNION_CHUNK):
        parts = [_events(plan, steps) for plan, steps in batch[start:start + UNION_CHUNK]]
        rows += db.session.execute(parts[0] if len(parts) == 1 else union_all(*parts)).all()
    return _insert_events([(by_id[plan_id], chat_id, member_id, at) for plan_id, chat_id, member_id, at in rows], now)


def _insert_events(events: list[tuple[tuple[GroupSop, list[GroupSopStep]], str, str, datetime]],
                   now: datetime) -> int:
    """One INSERT ... ON CONFLICT DO NOTHING of every step of each (plan, chat, member, event
    time) that is due PLAN_GRACE ago or later (an execution already there is left alone)."""
    values = []
    for (plan, steps), chat_id, member_id, at in events:
        for step in steps:
            due = schedule.after_event(step.delay_minutes, step.day_offset, step.at_time, at)
            if due >= now - PLAN_GRACE:
                values.append({"corp_id": plan.corp_id, "plan_id": plan.id, "step_id": step.id, "chat_id": chat_id,
                               "member_id": member_id, "delivery": plan.delivery, "due_at": due,
                               "status": ExecutionStatus.PENDING, "attempts": 0, "created_at": now})
    if not values:
        return 0
    owners = {(corp, chat): owner for corp, chat, owner in db.session.execute(select(
        GroupChat.corp_id, GroupChat.chat_id, GroupChat.owner).where(
        GroupChat.chat_id.in_({v["chat_id"] for v in values}))).all()}
    for value in values:
        value["owner"] = owners.get((value["corp_id"], value["chat_id"]))
    # RETURNING counts the rows added: an executemany's rowcount is -1 on PostgreSQL (psycopg),
    # and an ORM bulk INSERT's result has none at all.
    stmt = dialect_insert()(GroupSopExecution).on_conflict_do_nothing().returning(GroupSopExecution.id)
    return len(db.session.execute(stmt, values).all())


def plan_all(now: datetime) -> int:
    """Plan the active plans due a planning run: fixed schedules every PLAN_EVERY (re-inserting
    only when groups changed or an occurrence entered the horizon), relative ones when group or
    member rows were written since they last looked. A sweep with nothing to plan reads one row
    per plan and one or two indexed queries per corp. Commits."""
    rows = db.session.execute(select(GroupSop.id, GroupSop.corp_id, GroupSop.schedule, GroupSop.planned_at)
                              .where(GroupSop.status == GroupSopStatus.ACTIVE)).all()
    wanted, relative_since = set(), {}
    for plan_id, corp_id, plan_schedule, planned_at in rows:
        if planned_at is None or (not ScheduleKind(plan_schedule["kind"]).relative and now - planned_at >= PLAN_EVERY):
            wanted.add(plan_id)
        elif ScheduleKind(plan_schedule["kind"]).relative:
            relative_since[corp_id] = min(planned_at, relative_since.get(corp_id, planned_at))
    changes = {}
    for corp_id, since in relative_since.items():
        changes[corp_id] = _written_since(corp_id, since - EVENT_MARGIN)
        if changes[corp_id] != ([], []):
            wanted |= {plan_id for plan_id, corp, plan_schedule, planned_at in rows if corp == corp_id
                       and planned_at is not None and ScheduleKind(plan_schedule["kind"]).relative}
    if not wanted:
        return 0
    plans = list(db.session.scalars(select(GroupSop).where(GroupSop.id.in_(wanted)).order_by(GroupSop.id)))
    steps = live_steps([p.id for p in plans])
    horizon = timedelta(days=settings().group_sop_horizon_days)
    added, planned, changed = 0, [], {}
    for plan in plans:
        if ScheduleKind(plan.schedule["kind"]).relative:
            continue
        if plan.planned_at is not None:
            if plan.corp_id not in changed:
                changed[plan.corp_id] = _targets_changed_at(plan.corp_id)
            last_change = changed[plan.corp_id]
            groups_changed = last_change is not None and last_change >= plan.planned_at
            # occurrences that entered the horizon since the last run: for every group
            entered = schedule.occurrences(plan.schedule, max(now, plan.planned_at + horizon), now + horizon)
            if entered:
                added += plan_one(plan, now, steps[plan.id], dues=entered)
            if groups_changed:  # every occurrence, for the groups written since
                added += plan_one(plan, now, steps[plan.id], groups_written_since=plan.planned_at - EVENT_MARGIN)
            planned.append(plan.id)
            continue
        added += plan_one(plan, now, steps[plan.id])
        planned.append(plan.id)
    relative = [p for p in plans if ScheduleKind(p.schedule["kind"]).relative]
    added += _plan_relative([(p, steps[p.id]) for p in relative if p.planned_at is None], now)
    planned += [p.id for p in relative if p.planned_at is None]
    planned += _plan_changed([p for p in relative if p.planned_at is not None], steps, changes, now)
    if planned:  # one statement, not one UPDATE per plan
        db.session.execute(update(GroupSop).where(GroupSop.id.in_(planned)).values(planned_at=now)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return added


def _written_since(corp_id: str, since: datetime) -> tuple[list, list]:
    """(customers in a group, groups) whose rows were written since ``since`` (updated_at indexes)."""
    joined = db.session.execute(select(GroupMember.chat_id, GroupMember.member_id, GroupMember.join_time).where(
        GroupMember.corp_id == corp_id, GroupMember.updated_at >= since, GroupMember.type == 2,
        GroupMember.quit_time.is_(None), GroupMember.join_time.is_not(None))).all()
    created = db.session.execute(select(GroupChat.chat_id, GroupChat.create_time).where(
        GroupChat.corp_id == corp_id, GroupChat.updated_at >= since, GroupChat.create_time.is_not(None))).all()
    return list(joined), list(created)


def _plan_changed(plans: list[GroupSop], steps: dict[int, list[GroupSopStep]], changes: dict[str, tuple],
                  now: datetime) -> list[int]:
    """Relative plans already planned, for the group and member rows written since the corp's
    relative plans last looked (``changes``, less EVENT_MARGIN): the targets matched in Python
    (targets.matches) against those few groups, one INSERT. A corp where nothing was written is
    not planned (planned_at stays: the next sweep looks back that far). Returns the plan ids."""
    planned, events, facts_of = [], [], {}
    for plan in plans:
        joined, created = changes.get(plan.corp_id, ([], []))
        if not joined and not created:
            continue
        if plan.corp_id not in facts_of:
            facts_of[plan.corp_id] = targets.facts(plan.corp_id, {r[0] for r in joined} | {r[0] for r in created})
        facts = facts_of[plan.corp_id]
        started = plan.starts_at.replace(microsecond=0)  # WeCom's times are whole seconds
        rows = ([(chat_id, "", at) for chat_id, at in created]
                if ScheduleKind(plan.schedule["kind"]) == ScheduleKind.GROUP_CREATED else joined)
        events += [((plan, steps[plan.id]), chat_id, member_id, at) for chat_id, member_id, at in rows
                   if at >= started and chat_id in facts
                   and targets.matches(plan.targets or {}, facts[chat_id], chat_id)]
        planned.append(plan.id)
    _insert_events(events, now)
    return planned


def _chats_written_since(corp_id: str, since: datetime):
    """The groups whose row, labels or code links were written since ``since`` (a subquery)."""
    return union(select(GroupChat.chat_id).where(GroupChat.corp_id == corp_id, GroupChat.updated_at >= since),
                 select(GroupLabelLink.chat_id).where(GroupLabelLink.corp_id == corp_id,
                                                      GroupLabelLink.created_at >= since),
                 select(GroupCodeChat.chat_id).where(GroupCodeChat.corp_id == corp_id,
                                                     GroupCodeChat.created_at >= since))


def _targets_changed_at(corp_id: str) -> datetime | None:
    """The last change to what targets match (groups, their labels, their codes)."""
    stamps = [db.session.scalar(select(func.max(column)).where(model.corp_id == corp_id))
              for model, column in ((GroupChat, GroupChat.updated_at), (GroupLabelLink, GroupLabelLink.created_at),
                                    (GroupCodeChat, GroupCodeChat.created_at))]
    return max((s for s in stamps if s is not None), default=None)


def close_executions(condition, status: ExecutionStatus, result: str, error: str | None, now: datetime) -> None:
    db.session.execute(update(GroupSopExecution).where(condition, GroupSopExecution.status == ExecutionStatus.PENDING)
                       .values(status=status, result=result, error=error, finished_at=now))


TIDIED_KEY = "scrm:group-sop:tidied-at"  # the sweep's `now` at the last tidy (shared by the workers)


def _tidy(now: datetime) -> None:
    """Set-based state changes, every TIDY_EVERY: interrupted runs, dismissed groups and members
    who left (delivery checks those again anyway), reminders never sent."""
    last = redis_connection().get(TIDIED_KEY)
    if last is not None and timedelta(0) <= now - datetime.fromisoformat(last.decode()) < TIDY_EVERY:
        return
    redis_connection().set(TIDIED_KEY, now.isoformat())
    E = GroupSopExecution  # noqa: N806
    db.session.execute(update(E).where(E.status == ExecutionStatus.RUNNING, E.started_at < now - INTERRUPTED_AFTER)
                       .values(status=ExecutionStatus.FAILED, result="error", finished_at=now,
                               error="interrupted (never retried: an execution runs at most once)"))
    _close_gone(now)
    db.session.execute(update(E).where(E.status == ExecutionStatus.AWAITING, E.delivery == "reminder",
                                       E.started_at < now - REMINDER_GIVE_UP)
                       .values(status=ExecutionStatus.FAILED, result="not_sent", finished_at=now,
                               error="the owner never sent it from the sidebar"))
    db.session.commit()


def _close_gone(now: datetime) -> None:
    E = GroupSopExecution  # noqa: N806
    close_executions(exists().where(GroupChat.corp_id == E.corp_id, GroupChat.chat_id == E.chat_id,
                                    GroupChat.status == GroupChatStatus.DISMISSED),
                     ExecutionStatus.SKIPPED, "dismissed", "the group was dismissed", now)
    close_executions(and_(E.member_id != "", exists().where(
        GroupMember.corp_id == E.corp_id, GroupMember.chat_id == E.chat_id, GroupMember.member_id == E.member_id,
        GroupMember.quit_time.is_not(None))), ExecutionStatus.SKIPPED, "member_left", "the member left the group", now)


def sweep(now: datetime | None = None) -> int:
    """Tidy, plan, then enqueue due executions (one job per plan, step and owner) and due
    result checks. Returns the number of jobs enqueued."""
    now = now or utcnow()
    _tidy(now)
    plan_all(now)
    return enqueue_due(now) + enqueue_checks(now)


def enqueue_due(now: datetime) -> int:
    """One run_batch job per (plan, step, owner) with pending executions due; marks them queued."""
    E = GroupSopExecution  # noqa: N806
    active = select(GroupSop.id).where(GroupSop.status == GroupSopStatus.ACTIVE)
    due = db.session.execute(
        update(E).where(E.status == ExecutionStatus.PENDING, E.due_at <= now, E.plan_id.in_(active),
                        or_(E.queued_at.is_(None), E.queued_at < now - REQUEUE_AFTER))
        .values(queued_at=now).returning(E.plan_id, E.step_id, E.owner)).all()
    db.session.commit()
    runs = sorted({(plan_id, step_id, owner or "") for plan_id, step_id, owner in due})
    if runs:
        as_of, stamp = now.isoformat(), int(now.timestamp())
        enqueue_many(RUN_JOB, [(f"gsop-{p}-{s}-{o}-{stamp}", (p, s, o, as_of)) for p, s, o in runs],
                     queue="messages")
    return len(runs)


def enqueue_checks(now: datetime) -> int:
    """One check_msg job per mass-send msgid whose result check is due (leased CHECK_LEASE)."""
    E = GroupSopExecution  # noqa: N806
    checks = db.session.scalars(
        update(E).where(E.status == ExecutionStatus.AWAITING, E.delivery == "mass_send", E.msgid.is_not(None),
                        E.next_check_at <= now).values(next_check_at=now + CHECK_LEASE).returning(E.msgid)).all()
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
