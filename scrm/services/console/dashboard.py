"""The console's 工作台: a few figures and the adds per day, each one set-based query.

Whose figures: those of the members the viewer sees (scrm/services/policy): a local
administrator, an admin and a member whose data scope is the whole corp see the corp's; a
department scope the relations, groups and SOP tasks of their departments' members and those
below; scope self their own.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    FollowRelation,
    GroupChat,
    GroupChatStatus,
    RelationStatus,
    SopTask,
    TaskStatus,
)
from scrm.services import localtime, policy

DAYS = 30
OPEN_TASKS = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.AWAITING)


def overview(corp_id: str, userid: str | None) -> dict[str, Any]:
    """The figures for ``userid`` (None: a local administrator). Reads only."""
    viewer = policy.Viewer.of(corp_id, userid)
    relations = select(func.count(), func.count(func.distinct(FollowRelation.external_userid))).where(
        FollowRelation.corp_id == corp_id, FollowRelation.status == RelationStatus.ACTIVE)
    groups = select(func.count()).select_from(GroupChat).where(
        GroupChat.corp_id == corp_id, GroupChat.status == GroupChatStatus.ACTIVE)
    tasks = select(func.count()).select_from(SopTask).where(
        SopTask.corp_id == corp_id, SopTask.status.in_(OPEN_TASKS))
    relations = policy.scope_select(viewer, relations, FollowRelation.userid)
    groups = policy.scope_select(viewer, groups, GroupChat.owner)
    tasks = policy.scope_select(viewer, tasks, SopTask.userid)
    active_relations, customers = db.session.execute(relations).one()
    return {
        "scope": viewer.role.scope if viewer.restricted else "corp",
        "customers": customers, "active_relations": active_relations,
        "groups": db.session.scalar(groups) or 0, "open_sop_tasks": db.session.scalar(tasks) or 0,
        "adds_per_day": adds_per_day(corp_id, viewer),
        "timezone": str(localtime.zone()),
    }


def adds_per_day(corp_id: str, viewer: policy.Viewer | None = None, days: int = DAYS) -> list[dict[str, Any]]:
    """New follow relations (any status since) per corp-local day, the last ``days`` days up to
    today: one scan of the range, one conditional count per day (DST-safe, any database)."""
    today = localtime.to_local(utcnow()).date()
    first = today - timedelta(days=days - 1)
    bounds = [localtime.at_local(first + timedelta(days=n), "00:00") for n in range(days + 1)]
    counts = [func.coalesce(func.sum(case(((FollowRelation.added_at >= bounds[n])
                                           & (FollowRelation.added_at < bounds[n + 1]), 1), else_=0)), 0)
              for n in range(days)]
    query = select(*counts).where(FollowRelation.corp_id == corp_id, FollowRelation.added_at >= bounds[0],
                                  FollowRelation.added_at < bounds[-1])
    query = policy.scope_select(viewer, query, FollowRelation.userid)
    row = db.session.execute(query).one()
    return [{"date": _iso(first + timedelta(days=n)), "adds": int(row[n] or 0)} for n in range(days)]


def _iso(day: date) -> str:
    return day.isoformat()
