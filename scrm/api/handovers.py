"""Handovers (离职继承 / 在职转接): /api/v1/handovers — list batches, see items, change a successor,
propose again by a rule, approve (a manager), cancel; start an on-the-job reassignment."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_actor, current_corp_id, require_scope
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.api.writes import found, service_errors, unprocessable
from scrm.extensions import db
from scrm.models import HandoverBatch, HandoverItem
from scrm.models.corp import TokenScope
from scrm.schemas.handovers import (
    ApproveSchema,
    BatchArgsSchema,
    BatchSchema,
    ItemArgsSchema,
    ItemPatchSchema,
    ItemSchema,
    OnjobInSchema,
    ProposeSchema,
    ResignedInSchema,
)
from scrm.services import handover

blp = make_blueprint("handovers", __name__, "/api/v1", "Handovers: when a member leaves (离职继承) their customers "
                     "and groups are listed into a batch with proposed successors; on the job (在职转接) an operator "
                     "starts one. A manager approves; WeCom's transfers run (≤ 100 per call), customers have 24 h to "
                     "refuse, and our records (follow-ups, SOP progress) move to the successor when a transfer "
                     "completes.")


def _batch(batch_id: int) -> HandoverBatch:
    batch = found(db.session.scalar(select(HandoverBatch).filter_by(id=batch_id, corp_id=current_corp_id())),
                  "handover batch")
    scoping.require_member(batch.handover_userid, "handover batch")
    return batch


@blp.route("/handovers")
@blp.arguments(BatchArgsSchema, location="query", as_kwargs=True)
@blp.response(200, BatchSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_batches(pagination_parameters: PaginationParameters, **filters: Any) -> list[dict[str, Any]]:
    """List handover batches, newest first"""
    query = select(HandoverBatch).filter_by(corp_id=current_corp_id(), **filters).order_by(HandoverBatch.id.desc())
    query = scoping.scoped(query, HandoverBatch.handover_userid)
    return [handover.batch_view(b) for b in page_of(query, pagination_parameters)]


@blp.route("/handovers", methods=["POST"])
@blp.arguments(OnjobInSchema)
@blp.response(201, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_onjob(data: dict[str, Any]) -> dict[str, Any]:
    """Start an on-the-job reassignment (在职转接)

    The batch is proposed: nothing moves until a manager approves it.
    """
    scoping.require_member(data.get("handover_userid"), "member")
    with service_errors():
        return handover.batch_view(handover.create_onjob(current_corp_id(), data, created_by=current_actor()[:64]))


@blp.route("/handovers/resigned", methods=["POST"])
@blp.arguments(ResignedInSchema)
@blp.response(201, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(502, response="BAD_GATEWAY")
def open_resigned(data: dict[str, Any]) -> dict[str, Any]:
    """List a departed member's customers and groups into a batch (离职继承)

    Done automatically when WeCom says the member left (change_contact delete_user); this lists
    again what WeCom still holds for a successor (get_unassigned_list, groupchat/list status 1),
    e.g. customers who refused a transfer.
    """
    scoping.require_member(data["handover_userid"], "member")
    with service_errors():
        batch = handover.open_resigned(current_corp_id(), data["handover_userid"], created_by=current_actor()[:64])
    if batch is None:
        raise unprocessable("json", {"handover_userid": ["WeCom lists no customer or group of this member waiting "
                                                         "for a successor."]})
    return handover.batch_view(batch)


@blp.route("/handovers/<int:batch_id>")
@blp.response(200, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_batch(batch_id: int) -> dict[str, Any]:
    """Get a handover batch: status, counts by status, successors, WeCom's limits"""
    return handover.batch_view(_batch(batch_id))


@blp.route("/handovers/<int:batch_id>/items")
@blp.arguments(ItemArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ItemSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@paginate(blp)
def list_items(pagination_parameters: PaginationParameters, batch_id: int, **filters: Any) -> list[dict[str, Any]]:
    """A batch's customers and groups, each with its successor, status and reason"""
    batch = _batch(batch_id)
    query = select(HandoverItem).filter_by(batch_id=batch.id, **filters).order_by(HandoverItem.id)
    return handover.item_view(page_of(query, pagination_parameters))


@blp.route("/handovers/<int:batch_id>/items/<int:item_id>", methods=["PATCH"])
@blp.arguments(ItemPatchSchema)
@blp.response(200, ItemSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def edit_item(data: dict[str, Any], batch_id: int, item_id: int) -> dict[str, Any]:
    """Change an item's successor, or leave it out (before approval)"""
    batch = _batch(batch_id)
    item = db.session.scalar(select(HandoverItem).filter_by(id=item_id, batch_id=batch.id))
    if item is None:
        raise NotFound("No item with this id in this batch.")
    if data.get("takeover_userid") and not scoping.sees(data["takeover_userid"]):
        raise unprocessable("json", {"takeover_userid": ["Not a member within your data scope."]})
    with service_errors():
        handover.edit_item(batch, item, takeover=data.get("takeover_userid"), cancelled=data.get("cancelled"))
    return handover.item_view([item])[0]


@blp.route("/handovers/<int:batch_id>/propose", methods=["POST"])
@blp.arguments(ProposeSchema)
@blp.response(200, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def propose(data: dict[str, Any], batch_id: int) -> dict[str, Any]:
    """Propose successors again by a rule (before approval)"""
    batch = _batch(batch_id)
    with service_errors():
        handover.propose(batch, data["rule"], data.get("team"), data.get("takeover_userid"))
    return handover.batch_view(batch)


@blp.route("/handovers/<int:batch_id>/approve", methods=["POST"])
@blp.arguments(ApproveSchema)
@blp.response(200, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def approve(data: dict[str, Any], batch_id: int) -> dict[str, Any]:
    """Approve a batch: the transfers start (every item needs a successor; an admin-scope token)"""
    require_scope(TokenScope.ADMIN)  # customers change hands: not for every integration's write token
    batch = _batch(batch_id)
    with service_errors():
        handover.approve(batch, data["approved_by"])
    return handover.batch_view(batch)


@blp.route("/handovers/<int:batch_id>/cancel", methods=["POST"])
@blp.response(200, BatchSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def cancel(batch_id: int) -> dict[str, Any]:
    """Cancel a batch not yet started (WeCom cannot take back a started transfer)"""
    batch = _batch(batch_id)
    with service_errors():
        handover.cancel(batch)
    return handover.batch_view(batch)
