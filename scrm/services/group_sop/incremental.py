"""Planning from the few group and member rows written since the last look (the sweep's hot path).

Every planning run (SCRM_GROUP_SOP_PLAN_MINUTES) the ``group-sop`` sweep reads, in ONE statement
(plans_and_events), the active plans, the customers who joined and groups created since its
relative plans last looked (the ``updated_at`` indexes, the groups' owner, name, status, labels
and codes joined in) and whether an execution is due to be claimed. The relative plans'
definitions and steps are kept in the process between sweeps by (id, revision) (relative_plans:
read again only when a plan changed); every plan's targets are matched in Python (targets.matches,
held to the same answers as targets.clause by the tests) against those few groups, every step's
due time is computed, and ONE INSERT ... ON CONFLICT DO NOTHING adds the executions of all the
plans (none when every event was planned by the last committed run: the margin re-reads them). The
fixed plans do the same for the groups whose row, labels or code links changed (every occurrence
in the horizon).

The executions are the ones the per-plan statements made (tests/group_sop/test_planning.py
compares the two), so the guarantees stay: the unique (plan, step, group, member, due_at) makes a
re-read (EVENT_MARGIN) or a second scheduler add nothing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    DateTime,
    String,
    and_,
    bindparam,
    cast,
    exists,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)

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
    ScheduleKind,
)
from scrm.services.group_sop import plan_cache, schedule, targets

PLAN_GRACE = timedelta(hours=1)  # an execution already this far past due is not created


# PostgreSQL: the rows as arrays, one statement whose text never changes (psycopg prepares it once;
# a multi-VALUES INSERT is new text, parsed and planned again, whenever the row count differs, and
# SQLAlchemy compiles an on_conflict_do_nothing() construct on every execution).
_UNNEST_COLUMNS = (("corp_id", "VARCHAR"), ("plan_id", "INTEGER"), ("step_id", "INTEGER"), ("chat_id", "VARCHAR"),
                   ("member_id", "VARCHAR"), ("owner", "VARCHAR"), ("delivery", "VARCHAR"), ("due_at", "TIMESTAMP"))
_INSERT_UNNEST = text(
    f"INSERT INTO group_sop_execution ({', '.join(c for c, _ in _UNNEST_COLUMNS)}, status, attempts, created_at) "
    f"SELECT {', '.join('v.' + c for c, _ in _UNNEST_COLUMNS)}, :status, 0, :now FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _UNNEST_COLUMNS)
    + f") AS v({', '.join(c for c, _ in _UNNEST_COLUMNS)}) ON CONFLICT DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=DateTime()), bindparam("status", type_=String()))


def insert_rows(values: list[dict[str, Any]]) -> int:
    """One INSERT ... ON CONFLICT DO NOTHING of execution rows (row()). Returns the rows added
    (RETURNING: an executemany's rowcount is -1 on psycopg)."""
    if not values:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        params = {column: [v[column] for v in values] for column, _ in _UNNEST_COLUMNS}
        return len(db.session.execute(_INSERT_UNNEST, {**params, "now": values[0]["created_at"],
                                                       "status": ExecutionStatus.PENDING.value}).all())
    stmt = dialect_insert()(GroupSopExecution).on_conflict_do_nothing().returning(GroupSopExecution.id)
    return len(db.session.execute(stmt, values).all())


def row(plan, step_id: int, chat_id: str, member_id: str, owner: str | None, due: datetime,
        now: datetime) -> dict[str, Any]:
    return {"corp_id": plan.corp_id, "plan_id": plan.id, "step_id": step_id, "chat_id": chat_id,
            "member_id": member_id, "owner": owner, "delivery": plan.delivery, "due_at": due,
            "status": ExecutionStatus.PENDING.value, "attempts": 0, "created_at": now}


def relative_rows(plan, steps: list, chat_id: str, member_id: str, owner: str | None, at: datetime,
                  now: datetime) -> list[dict[str, Any]]:
    """Every step of the series for one event, those due PLAN_GRACE ago or later."""
    out = []
    for step in steps:
        due = schedule.after_event(step.delay_minutes, step.day_offset, step.at_time, at)
        if due >= now - PLAN_GRACE:
            out.append(row(plan, step.id, chat_id, member_id, owner, due, now))
    return out


def _new_events_parts() -> list:
    """Events written since :since (tag 0), then the label and code links of their groups (tag 1,
    2): the SELECTs of one UNION ALL."""
    # not "corp_id": an UPDATE in the same statement (the claim) would SET a column of that name
    corp_id, since = bindparam("corp", type_=String()), bindparam("since", type_=DateTime())
    joined = select(GroupMember.member_id, GroupMember.chat_id, GroupMember.join_time.label("at"),
                    GroupChat.owner, GroupChat.name, GroupChat.status).join(
        GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id, GroupChat.chat_id == GroupMember.chat_id)).where(
        GroupMember.corp_id == corp_id, GroupMember.updated_at >= since, GroupMember.type == 2,
        GroupMember.quit_time.is_(None), GroupMember.join_time.is_not(None))
    created = select(literal("").label("member_id"), GroupChat.chat_id, GroupChat.create_time.label("at"),
                     GroupChat.owner, GroupChat.name, GroupChat.status).where(
        GroupChat.corp_id == corp_id, GroupChat.updated_at >= since, GroupChat.create_time.is_not(None))
    ev = union_all(joined, created).cte("ev")
    links = [select(literal(tag).label("tag"), literal("").label("member_id"), model.chat_id, null(), null(), null(),
                    null(), ref).where(model.corp_id == corp_id, model.chat_id.in_(select(ev.c.chat_id)))
             for tag, model, ref in ((1, GroupLabelLink, GroupLabelLink.label_id),
                                     (2, GroupCodeChat, GroupCodeChat.group_code_id))]
    return [select(literal(0).label("tag"), ev.c.member_id, ev.c.chat_id, ev.c.at, ev.c.owner, ev.c.name,
                   ev.c.status, null().label("ref")), *links]


def due_condition():
    """Pending executions of active plans due at :now, not queued or queued before :stale (the
    sweep's claim, planning.enqueue_due)."""
    E = GroupSopExecution  # noqa: N806
    now, stale = bindparam("now", type_=DateTime()), bindparam("stale", type_=DateTime())
    return and_(E.status == ExecutionStatus.PENDING, E.due_at <= now,
                E.plan_id.in_(select(GroupSop.id).where(GroupSop.status == GroupSopStatus.ACTIVE)),
                or_(E.queued_at.is_(None), E.queued_at < stale))


def plans_to_look_at():
    """The active plans a planning run looks at: the relative ones (every sweep), and the fixed
    ones never planned or last planned at :replan_before or earlier (PLAN_EVERY ago): the others
    have nothing to do, so most minutes read only the relative ones."""
    kind = GroupSop.schedule["kind"].as_string()
    return and_(GroupSop.status == GroupSopStatus.ACTIVE,
                or_(kind.in_([k.value for k in ScheduleKind if k.relative]), GroupSop.planned_at.is_(None),
                    GroupSop.planned_at <= bindparam("replan_before", type_=DateTime())))


PLAN_TAG, DUE_TAG = 3, 4
# The active plans to look at as rows of the events' shape (tag 3): member_id = revision, chat_id =
# corp_id, at = planned_at, owner = the schedule's kind, ref = id; and one row (tag 4) when an
# execution is due to be claimed: the sweep's one read (plans_and_events).
_PLANS_PART = select(literal(PLAN_TAG), GroupSop.revision, GroupSop.corp_id, GroupSop.planned_at,
                     GroupSop.schedule["kind"].as_string(), null(), null(), GroupSop.id).where(plans_to_look_at())
_DUE_PART = select(literal(DUE_TAG), null(), null(), null(), null(), null(), null(), null()).where(
    exists().where(due_condition()))
_NEW_EVENTS = union_all(*_new_events_parts())  # built once: every planning run reads it
_PLANS_AND_EVENTS = union_all(*_new_events_parts(), _PLANS_PART, _DUE_PART)


def claim_statement():
    """The sweep's claim: pending executions due (due_condition) marked queued at :now,
    RETURNING (plan_id, step_id, owner). Core (the table, not the entity): it is also a WITH of
    the sweep's read."""
    E = GroupSopExecution.__table__.c  # noqa: N806
    return (update(GroupSopExecution.__table__).where(due_condition())
            .values(queued_at=bindparam("now", type_=DateTime())).returning(E.plan_id, E.step_id, E.owner))


CLAIMED_TAG = 5
# PostgreSQL: the read claims the due executions too (a data-modifying WITH; rows tagged 5:
# member_id = owner, chat_id = the step id as text, ref = plan id), instead of answering whether
# any is due and claiming them with a statement of its own after planning (a round trip most
# minutes). What planning then adds due at once is claimed by planning.enqueue_due.
_CLAIMED = claim_statement().cte("claimed")
_PLANS_EVENTS_CLAIM = union_all(*_new_events_parts(), _PLANS_PART, select(
    literal(CLAIMED_TAG), _CLAIMED.c.owner, cast(_CLAIMED.c.step_id, String), null(), null(), null(), null(),
    _CLAIMED.c.plan_id))


def new_events(corp_id: str, since: datetime) -> tuple[list, dict[str, targets.GroupFacts]]:
    """Customers who joined a group and groups created, whose rows were written since ``since``
    ((member_id: '' for a group, chat_id, at, owner)), and their groups' GroupFacts: one statement."""
    return events_of(db.session.execute(_NEW_EVENTS, {"corp": corp_id, "since": since}).all())


class Read(NamedTuple):
    plans: list[tuple]          # (id, corp_id, kind, planned_at, revision)
    events: tuple[list, dict]   # new_events' answer
    due: bool                   # an execution is due to be claimed
    claimed: list[tuple] | None  # claim=True on PostgreSQL: the (plan_id, step_id, owner) claimed


def plans_and_events(corp_id: str, since: datetime, now: datetime, stale: datetime,
                     replan_before: datetime, *, claim: bool = False) -> Read:
    """The plans to look at (plans_to_look_at) as planning._ACTIVE_PLANS reads them,
    new_events(corp_id, since), and whether an execution is due to be claimed (due_condition):
    one statement (the sweep's read, each planning run). ``claim`` on PostgreSQL: the same statement
    claims the due executions (claim_statement) instead of answering whether any is due."""
    claim = claim and db.session.get_bind().dialect.name == "postgresql"
    plans, rows, due, claimed = [], [], False, [] if claim else None
    for r in db.session.execute(_PLANS_EVENTS_CLAIM if claim else _PLANS_AND_EVENTS, {
            "corp": corp_id, "since": since, "now": now, "stale": stale, "replan_before": replan_before}).all():
        if r[0] == PLAN_TAG:
            _, revision, plan_corp, planned_at, kind, _, _, plan_id = r
            plans.append((plan_id, plan_corp, kind, planned_at, revision))
        elif r[0] == DUE_TAG:
            due = True
        elif r[0] == CLAIMED_TAG:
            claimed.append((r[7], int(r[2]), r[1]))
        else:
            rows.append(r)
    return Read(plans, events_of(rows), due, claimed)


def events_of(rows: Iterable[tuple]) -> tuple[list, dict[str, targets.GroupFacts]]:
    """new_events' answer from the events statement's rows."""
    events, groups, labels, codes = [], {}, defaultdict(set), defaultdict(set)
    for tag, member_id, chat_id, at, owner, name, status, ref in rows:
        if tag == 0:
            events.append((member_id, chat_id, at, owner))
            groups[chat_id] = (owner, name, status)
        else:
            (labels if tag == 1 else codes)[chat_id].add(ref)
    return events, {chat_id: targets.GroupFacts(owner, name, status == GroupChatStatus.ACTIVE,
                                                frozenset(labels[chat_id]), frozenset(codes[chat_id]))
                    for chat_id, (owner, name, status) in groups.items()}


def group_facts(corp_id: str, groups: dict[str, tuple], plans: list) -> dict[str, targets.GroupFacts]:
    """GroupFacts of ``groups`` (chat_id: (owner, name, status)); their labels and codes are read
    (one statement) only when a plan targets labels or codes."""
    wants_labels = any((p.targets or {}).get("label_ids") for p in plans)
    wants_codes = any((p.targets or {}).get("group_code_ids") for p in plans)
    labels, codes = defaultdict(set), defaultdict(set)
    chat_ids = sorted(groups)
    parts = []
    if wants_labels and chat_ids:
        parts.append(select(literal(0).label("kind"), GroupLabelLink.chat_id, GroupLabelLink.label_id.label("ref"))
                     .where(GroupLabelLink.corp_id == corp_id, GroupLabelLink.chat_id.in_(chat_ids)))
    if wants_codes and chat_ids:
        parts.append(select(literal(1).label("kind"), GroupCodeChat.chat_id, GroupCodeChat.group_code_id.label("ref"))
                     .where(GroupCodeChat.corp_id == corp_id, GroupCodeChat.chat_id.in_(chat_ids)))
    if parts:
        for kind, chat_id, ref in db.session.execute(parts[0] if len(parts) == 1 else union_all(*parts)).all():
            (labels if kind == 0 else codes)[chat_id].add(ref)
    return {chat_id: targets.GroupFacts(owner, name, status == GroupChatStatus.ACTIVE, frozenset(labels[chat_id]),
                                        frozenset(codes[chat_id]))
            for chat_id, (owner, name, status) in groups.items()}


def plan_events(corp_id: str, keys: list[tuple[int, str]], since: datetime, now: datetime,
                read: tuple[list, dict] | None = None) -> tuple[int, bool]:
    """The corp's relative plans already planned ((id, revision)), for the events written since
    ``since`` (or those ``read`` already: new_events' answer for an earlier ``since``): one
    statement for the events, the plans from the cache, one INSERT for all of them (none when
    every event was planned by the last committed run). Returns the rows added and whether one
    of the rows is due at ``now`` already."""
    events, facts = read if read is not None else new_events(corp_id, since)
    if not events:
        return 0, False
    seen = _planned.get(corp_id)
    done = seen[1] if seen is not None and seen[0] == tuple(keys) else frozenset()
    read_now = [(event, facts[event[1]]) for event in events]
    _pending[corp_id] = (tuple(keys), frozenset(read_now))
    fresh = [event for event, fact in read_now if (event, fact) not in done]
    if not fresh:
        return 0, False
    values = []
    for plan, wanted, by_member, started, steps in plan_cache.relative_plans(keys):
        for member_id, chat_id, at, owner in fresh:
            if (member_id != "") == by_member and at >= started and targets.matches(wanted, facts[chat_id], chat_id):
                values += relative_rows(plan, steps, chat_id, member_id, owner, at, now)
    return insert_rows(values), any(v["due_at"] <= now for v in values)


# Per corp, the events (with their groups' facts) the last committed planning run planned for
# these plans ((id, revision)s): the sweep re-reads EVENT_MARGIN of events each planning run, and an
# event it planned, for the same plans and group facts, needs no INSERT again (it would add
# nothing: the executions are there, and later runs only drop more of them by PLAN_GRACE).
# Written by planned() once the run committed; plans with new revisions start afresh.
_planned: dict[str, tuple[tuple, frozenset]] = {}
_pending: dict[str, tuple[tuple, frozenset]] = {}


def forget_unplanned() -> None:
    """A planning run starts: what an earlier run read but did not commit is forgotten."""
    _pending.clear()


def planned() -> None:
    """The planning run committed: its events count as planned (plan_events' memo)."""
    _planned.update(_pending)
    _pending.clear()


def changed_groups(corp_id: str, since: datetime) -> dict[str, tuple]:
    """The groups whose row, labels or code links were written since ``since``: chat_id: (owner,
    name, status), one statement."""
    chats = union_all(select(GroupChat.chat_id).where(GroupChat.corp_id == corp_id, GroupChat.updated_at >= since),
                      select(GroupLabelLink.chat_id).where(GroupLabelLink.corp_id == corp_id,
                                                           GroupLabelLink.created_at >= since),
                      select(GroupCodeChat.chat_id).where(GroupCodeChat.corp_id == corp_id,
                                                          GroupCodeChat.created_at >= since)).subquery()
    return {chat_id: (owner, name, status) for chat_id, owner, name, status in db.session.execute(
        select(GroupChat.chat_id, GroupChat.owner, GroupChat.name, GroupChat.status).where(
            GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(select(chats.c.chat_id)))).all()}


def plan_changed_groups(corp_id: str, plans: list, steps: dict[int, list], since: datetime,
                        now: datetime) -> int:
    """Fixed plans: every occurrence in the horizon for the groups changed since ``since`` that
    the plan targets (a new group, a label or code link added), one INSERT for all the plans."""
    groups = changed_groups(corp_id, since)
    if not groups:
        return 0
    facts = group_facts(corp_id, groups, plans)
    horizon = timedelta(days=settings().group_sop_horizon_days)
    values = []
    for plan in plans:
        if not steps[plan.id]:
            continue
        wanted = targets.prepared(plan.targets)
        chats = [chat_id for chat_id, fact in facts.items() if targets.matches(wanted, fact, chat_id)]
        if not chats:
            continue
        for due in schedule.occurrences(plan.schedule, now, now + horizon):
            values += [row(plan, steps[plan.id][0].id, chat_id, "", groups[chat_id][0], due, now)
                       for chat_id in chats]
    return insert_rows(values)
