"""The console's 工作台: a few figures and the adds per day, each one set-based query.

Whose figures: a local administrator, and a member whose role is admin or whose data scope is
the whole corp (scrm/services/access.py), see the corp's; anyone else sees their own (the
relations they follow, the groups they own, their SOP tasks). The department scope is shown as
their own until the console's policy module (issue #14, roles and scopes) lands.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    DataScope,
    FollowRelation,
    GroupChat,
    GroupChatStatus,
    RelationStatus,
    SopTask,
    TaskStatus,
)
from scrm.services import access, localtime

DAYS = 30
OPEN_TASKS = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.AWAITING)


def scope_of(corp_id: str, userid: str | None) -> str | None:
    """None: the whole corp; else the userid whose own figures are shown."""
    if userid is None:
        return None
    role = access.role_of(corp_id, userid)
    return None if role.role == "admin" or role.data_scope == DataScope.CORP else userid


def overview(corp_id: str, userid: str | None) -> dict[str, Any]:
    """The figures for ``userid`` (None: a local administrator). Reads only."""
    own = scope_of(corp_id, userid)
    relations = select(func.count(), func.count(func.distinct(FollowRelation.external_userid))).where(
        FollowRelation.corp_id == corp_id, FollowRelation.status == RelationStatus.ACTIVE)
    groups = select(func.count()).select_from(GroupChat).where(
        GroupChat.corp_id == corp_id, GroupChat.status == GroupChatStatus.ACTIVE)
    tasks = select(func.count()).select_from(SopTask).where(
        SopTask.corp_id == corp_id, SopTask.status.in_(OPEN_TASKS))
    if own is not None:
        relations = relations.where(FollowRelation.userid == own)
        groups = groups.where(GroupChat.owner == own)
        tasks = tasks.where(SopTask.userid == own)
    active_relations, customers = db.session.execute(relations).one()
    return {
        "scope": "corp" if own is None else "self",
        "customers": customers, "active_relations": active_relations,
        "groups": db.session.scalar(groups) or 0, "open_sop_tasks": db.session.scalar(tasks) or 0,
        "adds_per_day": adds_per_day(corp_id, own),
        "timezone": str(localtime.zone()),
    }


def adds_per_day(corp_id: str, userid: str | None, days: int = DAYS) -> list[dict[str, Any]]:
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
    if userid is not None:
        query = query.where(FollowRelation.userid == userid)
    row = db.session.execute(query).one()
    return [{"date": _iso(first + timedelta(days=n)), "adds": int(row[n] or 0)} for n in range(days)]


def _iso(day: date) -> str:
    return day.isoformat()
