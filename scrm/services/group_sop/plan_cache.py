"""The plan definitions the group SOP sweep plans with, kept in the process between sweeps.

Reading a plan and its steps every minute for every event would be most of the sweep's work;
instead the definitions are cached by (id, revision): authoring writes a new revision, so a plan
is read again (two statements, load) only when it changed. Relative plans (group created / member
joined) are kept while active (keep_cached prunes the rest at every full planning run); fixed
plans (once / recurring) are kept while used and dropped after FIXED_KEPT unused.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupSop, GroupSopStatus, GroupSopStep, ScheduleKind
from scrm.services.group_sop import targets


def load(plan_ids: Iterable[int]) -> tuple[list, dict[int, list]]:
    """The plans (Core rows with the ORM attribute names) and their live steps, in order."""
    plan_ids = sorted(set(plan_ids))
    if not plan_ids:
        return [], {}
    plans = db.session.execute(select(
        GroupSop.id, GroupSop.corp_id, GroupSop.status, GroupSop.targets, GroupSop.schedule, GroupSop.delivery,
        GroupSop.starts_at, GroupSop.planned_at, GroupSop.revision).where(GroupSop.id.in_(plan_ids))
        .order_by(GroupSop.id)).all()
    steps: dict[int, list] = {plan_id: [] for plan_id in plan_ids}
    for step in db.session.execute(select(
            GroupSopStep.id, GroupSopStep.plan_id, GroupSopStep.delay_minutes, GroupSopStep.day_offset,
            GroupSopStep.at_time).where(GroupSopStep.plan_id.in_(plan_ids), GroupSopStep.deleted.is_(False))
            .order_by(GroupSopStep.position, GroupSopStep.id)):
        steps[step.plan_id].append(step)
    return plans, steps



class Plan(NamedTuple):
    id: int
    corp_id: str
    status: str
    targets: dict
    schedule: dict
    delivery: str
    starts_at: datetime
    planned_at: datetime | None
    revision: str


class Step(NamedTuple):
    id: int
    plan_id: int
    delay_minutes: int | None
    day_offset: int | None
    at_time: str | None


class Relative(NamedTuple):
    """A relative plan as the sweep matches it: its definition, targets prepared, live steps."""
    plan: Plan
    wanted: dict
    by_member: bool
    started: datetime
    steps: list[Step]


# The relative plans' definitions kept between sweeps, by (id, revision): a plan is read again
# only when it changed (authoring writes a new revision). Rebuilt by every plan_all from the
# active plans' ids and revisions, so it holds only those.
_CACHE: dict[tuple[int, str], Relative] = {}


def relative_plans(keys: Iterable[tuple[int, str]]) -> list[Relative]:
    """The relative plans (id, revision) as the sweep matches them: from the process's cache,
    the missing ones read with two statements. A plan edited since its revision was read is
    used as read now (its new revision is cached at the next sweep)."""
    keys = list(keys)
    missing = [plan_id for plan_id, revision in keys if (plan_id, revision) not in _CACHE]
    loaded: dict[int, Relative] = {}
    if missing:
        plans, steps = load(missing)
        for r in plans:
            plan = Plan(*r)
            loaded[plan.id] = entry = Relative(
                plan, targets.prepared(plan.targets), ScheduleKind(plan.schedule["kind"]) == ScheduleKind.MEMBER_JOINED,
                plan.starts_at.replace(microsecond=0), [Step(*s) for s in steps[plan.id]])
            _CACHE[(plan.id, plan.revision)] = entry
    out = [loaded.get(plan_id) or _CACHE.get((plan_id, revision)) for plan_id, revision in keys]
    return [r for r in out if r is not None and r.plan.status == GroupSopStatus.ACTIVE
            and ScheduleKind(r.plan.schedule["kind"]).relative]


# The fixed plans' definitions and live steps, by (id, revision), with the sweep's `now` they were
# last used at: re-planned every PLAN_EVERY, each is read again only when it changed (or after
# FIXED_KEPT unused: paused, deleted, or an old revision).
_FIXED: dict[tuple[int, str], tuple[Plan, list[Step], datetime]] = {}
FIXED_KEPT = timedelta(hours=1)


def fixed_plans(keys: list[tuple[int, str, datetime | None]], now: datetime) -> tuple[list[Plan], dict[int, list]]:
    """The fixed plans (id, revision, planned_at as the sweep read it), as load() returns them:
    from the process's cache, the missing ones read with two statements."""
    global _FIXED  # noqa: PLW0603 - pruned by replacing it whole
    missing = [plan_id for plan_id, revision, _ in keys if (plan_id, revision) not in _FIXED]
    if missing:
        plans, steps = load(missing)
        for r in plans:
            _FIXED[(r.id, r.revision)] = (Plan(*r), [Step(*s) for s in steps[r.id]], now)
    out, steps_of = [], {}
    for plan_id, revision, planned_at in keys:
        cached = _FIXED.get((plan_id, revision))
        if cached is None:  # edited since the sweep's read: the next sweep sees its new revision
            continue
        plan, steps, _ = _FIXED[(plan_id, revision)] = (*cached[:2], now)
        out.append(plan._replace(planned_at=planned_at))
        steps_of[plan_id] = steps
    if any(now - used > FIXED_KEPT for _, _, used in _FIXED.values()):
        _FIXED = {key: value for key, value in _FIXED.items() if now - value[2] <= FIXED_KEPT}
    return out, steps_of


def keep_cached(keys: Iterable[tuple[int, str]]) -> None:
    """Drop the cached plans not in ``keys`` (the active relative plans' (id, revision) now)."""
    global _CACHE  # noqa: PLW0603 - replaced whole: a sweep in another thread reads the old one
    keys = set(keys)
    if keys != set(_CACHE):
        _CACHE = {key: value for key, value in _CACHE.items() if key in keys}
