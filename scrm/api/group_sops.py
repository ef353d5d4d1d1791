"""Group SOPs (群SOP): /api/v1/group-sops, their executions (calendar, results) and a group's
calendar (/api/v1/groups/<chat_id>/sop-calendar)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_smorest.pagination import PaginationParameters
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import found, service_errors, unprocessable
from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import GroupChat, GroupSop, GroupSopExecution, GroupSopStatus
from scrm.schemas.group_sops import (
    ExecutionArgsSchema,
    ExecutionSchema,
    GroupSopInSchema,
    GroupSopPatchSchema,
    GroupSopSchema,
    PlanResultsSchema,
    check_plan,
)
from scrm.services import group_sop
from scrm.services.group_sop import targets

blp = make_blueprint("group_sops", __name__, "/api/v1", "Group SOPs (群SOP): content delivered to customer groups "
                     "on a schedule (once, daily, weekly, monthly) or after an event (group created, member "
                     "joined), as a group mass send the owner confirms or a reminder sent from the sidebar; the "
                     "executions calendar and per-execution results.")
PLAN = "group SOP"
DEFAULT_SPAN = timedelta(days=15)


def _out(rows: list[GroupSop]) -> list[dict[str, Any]]:
    steps = group_sop.live_steps([p.id for p in rows]) if rows else {}
    out = []
    for plan in rows:
        matched = db.session.scalar(select(func.count()).select_from(GroupChat).where(
            targets.clause(plan.corp_id, plan.targets or {})))
        out.append(row_dict(plan, steps=[row_dict(s) for s in steps[plan.id]], target_groups=matched,
                            schedule_text=group_sop.describe(plan.schedule)))
    return out


def _plan(plan_id: int) -> GroupSop:
    return found(group_sop.get(current_corp_id(), plan_id), PLAN)


@blp.route("/group-sops")
@blp.response(200, GroupSopSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_plans(pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """List group SOPs"""
    query = select(GroupSop).where(GroupSop.corp_id == current_corp_id(),
                                   GroupSop.status != GroupSopStatus.DELETED).order_by(GroupSop.id)
    return _out(page_of(query, pagination_parameters))


@blp.route("/group-sops", methods=["POST"])
@blp.arguments(GroupSopInSchema)
@blp.response(201, GroupSopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_plan(data: dict[str, Any]) -> dict[str, Any]:
    """Create a group SOP

    Executions for the groups the targets match are created at once for the next
    SCRM_GROUP_SOP_HORIZON_DAYS (relative plans: for groups created / customers joining from now
    on); new groups join at the next planning run (within 10 minutes).
    """
    with service_errors():
        return _out([group_sop.create(current_corp_id(), data)])[0]


@blp.route("/group-sops/<int:plan_id>")
@blp.response(200, GroupSopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_plan(plan_id: int) -> dict[str, Any]:
    """Get a group SOP"""
    return _out([_plan(plan_id)])[0]


@blp.route("/group-sops/<int:plan_id>", methods=["PATCH"])
@blp.arguments(GroupSopPatchSchema)
@blp.response(200, GroupSopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_plan(data: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """Edit a group SOP (applies to executions not yet run)"""
    plan = _plan(plan_id)
    steps = data.get("steps")
    if steps is None and "schedule" in data:
        steps = [row_dict(s) for s in group_sop.live_steps([plan.id])[plan.id]]
    try:
        check_plan(data, data.get("schedule") or plan.schedule, steps)
    except ValidationError as exc:
        raise unprocessable("json", exc.messages) from None
    with service_errors():
        group_sop.update_plan(plan, data)
    return _out([plan])[0]


@blp.route("/group-sops/<int:plan_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_plan(plan_id: int) -> None:
    """Delete a group SOP (its pending executions are cancelled)"""
    plan = _plan(plan_id)
    with service_errors():
        group_sop.set_status(plan, GroupSopStatus.DELETED)


@blp.route("/group-sops/<int:plan_id>/pause", methods=["POST"])
@blp.response(200, GroupSopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def pause_plan(plan_id: int) -> dict[str, Any]:
    """Pause a group SOP (due executions wait)"""
    with service_errors():
        return _out([group_sop.set_status(_plan(plan_id), GroupSopStatus.PAUSED)])[0]


@blp.route("/group-sops/<int:plan_id>/resume", methods=["POST"])
@blp.response(200, GroupSopSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def resume_plan(plan_id: int) -> dict[str, Any]:
    """Resume a group SOP (what fell due meanwhile runs, unless over 24 h late: skipped)"""
    with service_errors():
        return _out([group_sop.set_status(_plan(plan_id), GroupSopStatus.ACTIVE)])[0]


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    since = since or utcnow() - timedelta(days=1)
    return since, until or since + DEFAULT_SPAN


@blp.route("/group-sops/<int:plan_id>/executions")
@blp.arguments(ExecutionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ExecutionSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@paginate(blp)
def plan_executions(pagination_parameters: PaginationParameters, plan_id: int, chat_id: str | None = None,
                    status: str | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> list[dict[str, Any]]:
    """A plan's executions: the calendar and per-execution results

    By due time within [since, until) (default: from a day ago, 15 days); each with its status
    (sent, awaiting the owner, failed or skipped with the reason in `result` and `error`).
    """
    plan = _plan(plan_id)
    start, end = _window(since, until)
    query = group_sop.executions_query(plan.corp_id, plan_id=plan.id, chat_id=chat_id, status=status,
                                       start=start, end=end)
    query = scoping.scoped_groups(query, GroupSopExecution.chat_id)
    return group_sop.describe_rows(page_of(query, pagination_parameters))


@blp.route("/group-sops/<int:plan_id>/results")
@blp.response(200, PlanResultsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def plan_results(plan_id: int) -> dict[str, Any]:
    """A plan's results: executions by status and by result, per step"""
    return {**group_sop.plan_results(_plan(plan_id)), "monthly_cap": group_sop.monthly_cap(utcnow())}


@blp.route("/groups/<chat_id>/sop-calendar")
@blp.arguments(ExecutionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ExecutionSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@paginate(blp)
def group_calendar(pagination_parameters: PaginationParameters, chat_id: str, status: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   **_: Any) -> list[dict[str, Any]]:
    """A group's SOP calendar: every plan's executions for this group within [since, until)"""
    corp_id = current_corp_id()
    if db.session.scalar(select(GroupChat.id).filter_by(corp_id=corp_id, chat_id=chat_id)) is None:
        raise NotFound("No group with this chat_id.")
    scoping.require_group(chat_id)
    start, end = _window(since, until)
    query = group_sop.executions_query(corp_id, chat_id=chat_id, status=status, start=start, end=end)
    return group_sop.describe_rows(page_of(query, pagination_parameters))
