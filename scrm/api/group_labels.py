"""Group labels (/api/v1/group-labels) and a group's labels (/api/v1/groups/<chat_id>/labels)."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import found, service_errors
from scrm.models import GroupLabel
from scrm.schemas.community import (
    GroupLabelInSchema,
    GroupLabelListArgsSchema,
    GroupLabelPatchSchema,
    GroupLabelRefSchema,
    GroupLabelSchema,
    GroupLabelsInSchema,
    LabelGroupsInSchema,
    LabelGroupsResultSchema,
)
from scrm.services.community import labels

blp = make_blueprint("group_labels", __name__, "/api/v1", "Our own labels on customer groups (WeCom has none), "
                     "for targeting (group SOPs) and reports.")
LABEL = "group label"


def _out(rows: list[GroupLabel]) -> list[dict[str, Any]]:
    counts = labels.group_counts([row.id for row in rows])
    return [row_dict(row, group_count=counts.get(row.id, 0)) for row in rows]


@blp.route("/group-labels")
@blp.arguments(GroupLabelListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupLabelSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_labels(pagination_parameters: PaginationParameters, category: str | None = None) -> list:
    """List group labels"""
    return _out(page_of(labels.list_query(current_corp_id(), category), pagination_parameters))


@blp.route("/group-labels", methods=["POST"])
@blp.arguments(GroupLabelInSchema)
@blp.response(201, GroupLabelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_label(data: dict[str, Any]) -> dict[str, Any]:
    """Create a group label (name unique per corp)"""
    with service_errors():
        return _out([labels.create(current_corp_id(), data)])[0]


@blp.route("/group-labels/<int:label_id>")
@blp.response(200, GroupLabelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_label(label_id: int) -> dict[str, Any]:
    """Get a group label"""
    return _out([found(labels.get(current_corp_id(), label_id), LABEL)])[0]


@blp.route("/group-labels/<int:label_id>", methods=["PATCH"])
@blp.arguments(GroupLabelPatchSchema(partial=True))
@blp.response(200, GroupLabelSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_label(data: dict[str, Any], label_id: int) -> dict[str, Any]:
    """Change a group label (only the fields given)"""
    label = found(labels.get(current_corp_id(), label_id), LABEL)
    with service_errors():
        return _out([labels.update(label, data)])[0]


@blp.route("/group-labels/<int:label_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_label(label_id: int) -> None:
    """Delete a group label (it comes off every group)"""
    labels.delete(found(labels.get(current_corp_id(), label_id), LABEL))


@blp.route("/group-labels/<int:label_id>/groups", methods=["POST"])
@blp.arguments(LabelGroupsInSchema)
@blp.response(200, LabelGroupsResultSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def change_label_groups(data: dict[str, Any], label_id: int) -> dict[str, int]:
    """Put the label on groups (`add`) and take it off others (`remove`), in bulk"""
    label = found(labels.get(current_corp_id(), label_id), LABEL)
    with service_errors():
        return labels.change_groups(label, data["add"], data["remove"])


@blp.route("/groups/<chat_id>/labels", methods=["PUT"])
@blp.arguments(GroupLabelsInSchema)
@blp.response(200, GroupLabelRefSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def set_group_labels(data: dict[str, Any], chat_id: str) -> list[GroupLabel]:
    """Set a group's labels (exactly `label_ids`; an empty list clears them)"""
    if not labels.group_exists(current_corp_id(), chat_id):
        found(None, "group")
    with service_errors():
        return labels.set_group_labels(current_corp_id(), chat_id, data["label_ids"])
