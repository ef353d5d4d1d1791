"""Recall playbooks: /api/v1/recall-playbooks (CRUD, pause / resume, figures) and /api/v1/recalls."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select

from scrm.api import scoping
from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import PlaybookStatus, Recall, RecallPlaybook
from scrm.schemas.recall import (
    PlaybookInSchema,
    PlaybookPatchSchema,
    PlaybookSchema,
    PlaybookStatsSchema,
    RecallListArgsSchema,
    RecallSchema,
    StatsArgsSchema,
)
from scrm.services import recall
from scrm.services.churn.queries import local_today

blp = make_blueprint("recall", __name__, "/api/v1", "Recall playbooks (客户召回): what happens when a relation "
                     "turns cooling, dormant or lost, or the customer deletes the staff member; each recall's "
                     "delivery and outcome, and each playbook's recall rate.")


def _out(rows: list[RecallPlaybook]) -> list[dict[str, Any]]:
    counts = dict(db.session.execute(select(Recall.playbook_id, func.count()).where(
        Recall.playbook_id.in_([p.id for p in rows])).group_by(Recall.playbook_id)).all()) if rows else {}
    return [row_dict(p, recalls=counts.get(p.id, 0)) for p in rows]


def _playbook(playbook_id: int) -> RecallPlaybook:
    return found(recall.get(current_corp_id(), playbook_id), "recall playbook")


@blp.route("/recall-playbooks")
@blp.response(200, PlaybookSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_playbooks() -> list[dict[str, Any]]:
    """List recall playbooks"""
    rows = db.session.scalars(select(RecallPlaybook).where(
        RecallPlaybook.corp_id == current_corp_id(), RecallPlaybook.status != PlaybookStatus.DELETED)
        .order_by(RecallPlaybook.priority, RecallPlaybook.id))
    return _out(list(rows))


@blp.route("/recall-playbooks", methods=["POST"])
@blp.arguments(PlaybookInSchema)
@blp.response(201, PlaybookSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_playbook(data: dict[str, Any]) -> dict[str, Any]:
    """Create a recall playbook

    Applies to relations entering `trigger` in the nightly churn scoring from now on (and those
    that entered it in the last two days), when they match `segment` and were not recalled within
    the cool-down; the lowest `priority` wins when several playbooks match.
    """
    with service_errors():
        created = recall.create(current_corp_id(), data)
    return _out([created])[0]


@blp.route("/recall-playbooks/<int:playbook_id>")
@blp.response(200, PlaybookSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_playbook(playbook_id: int) -> dict[str, Any]:
    """Get a recall playbook"""
    return _out([_playbook(playbook_id)])[0]


@blp.route("/recall-playbooks/<int:playbook_id>", methods=["PATCH"])
@blp.arguments(PlaybookPatchSchema)
@blp.response(200, PlaybookSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_playbook(data: dict[str, Any], playbook_id: int) -> dict[str, Any]:
    """Edit a recall playbook (applies to recalls not yet sent)"""
    row = _playbook(playbook_id)
    with service_errors():
        recall.update_playbook(row, data)
    return _out([row])[0]


@blp.route("/recall-playbooks/<int:playbook_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_playbook(playbook_id: int) -> None:
    """Delete a recall playbook (its recalls not yet sent are cancelled; the others keep their outcome)"""
    row = _playbook(playbook_id)
    with service_errors():
        recall.set_status(row, PlaybookStatus.DELETED)


@blp.route("/recall-playbooks/<int:playbook_id>/pause", methods=["POST"])
@blp.response(200, PlaybookSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def pause_playbook(playbook_id: int) -> dict[str, Any]:
    """Pause a recall playbook (no new recalls; due ones wait)"""
    row = _playbook(playbook_id)
    with service_errors():
        return _out([recall.set_status(row, PlaybookStatus.PAUSED)])[0]


@blp.route("/recall-playbooks/<int:playbook_id>/resume", methods=["POST"])
@blp.response(200, PlaybookSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def resume_playbook(playbook_id: int) -> dict[str, Any]:
    """Resume a recall playbook (recalls that fell due meanwhile go out, unless over 24 h late: skipped)"""
    row = _playbook(playbook_id)
    with service_errors():
        return _out([recall.set_status(row, PlaybookStatus.ACTIVE)])[0]


@blp.route("/recall-playbooks/<int:playbook_id>/stats")
@blp.arguments(StatsArgsSchema, location="query")
@blp.response(200, PlaybookStatsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def playbook_stats(args: dict[str, Any], playbook_id: int) -> dict[str, Any]:
    """A playbook's recall rate

    `sent`, `won`, `lost`, `open` and `recall_rate` (won / sent) over the playbook's life, and per
    corp-local month of sending in the range.
    """
    scoping.corp_wide_report()
    row = _playbook(playbook_id)
    last = args.get("to") or local_today()
    first = args.get("from_") or (last.replace(day=1) - timedelta(days=330)).replace(day=1)
    return recall.stats(row.id, first, last)


@blp.route("/recalls")
@blp.arguments(RecallListArgsSchema, location="query")
@blp.response(200, RecallSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@paginate(blp)
def list_recalls(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list:
    """List recalls

    Newest first, with their delivery status and outcome; filters combine.
    """
    return page_of(scoping.scoped(recall.recalls_query(current_corp_id(), args), Recall.userid),
                   pagination_parameters)
