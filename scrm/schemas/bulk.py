"""Open API v1: bulk actions on customers (issue #14 part 4)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.mass_messages import AudienceSchema

KINDS = ("add_tags", "remove_tags", "start_sop", "reassign")
ITEM_STATUSES = ("pending", "waiting", "done", "failed", "skipped", "cancelled")
NEEDS = {"add_tags": "tag_ids", "remove_tags": "tag_ids", "start_sop": "sop_id", "reassign": "takeover_userid"}


class BulkJobInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata=described(
        "add_tags / remove_tags (`tag_ids`), start_sop (`sop_id`), reassign (`takeover_userid`: 在职转接)."))
    audience = fields.Nested(AudienceSchema, required=True, metadata=described(
        "Who: the audience's active relations (customer, staff member); each relation is one item."))
    tag_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(1, 100),
                          metadata=described("Corp tag ids (add_tags, remove_tags)."))
    sop_id = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1), metadata=described(
        "An active customer SOP (start_sop); relations already in it are skipped."))
    takeover_userid = fields.String(validate=validate.Length(min=1, max=64), metadata=described(
        "The member who takes the customers over (reassign); an active member."))
    transfer_success_msg = fields.String(allow_none=True, metadata=described(
        "reassign: the message WeCom sends the customer (≤ 200 characters; WeCom's default when absent)."))

    @validates_schema
    def kind_needs(self, data: dict[str, Any], **_: Any) -> None:
        field = NEEDS.get(data.get("kind", ""))
        if field and data.get(field) in (None, "", []):
            raise ValidationError("Missing data for required field.", field)  # the kind needs it


class BulkJobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    audience = fields.Dict()
    params = fields.Dict(metadata=described(
        "The kind's parameters as validated, with names: tag_ids and tag_names; sop_id and sop_name; "
        "takeover_userid, takeover_name and transfer_success_msg."))
    status = fields.String(metadata=described("queued, running, done, failed or cancelled"))
    total = fields.Integer(metadata=described("Items: the audience's relations when the job started."))
    done = fields.Integer()
    failed = fields.Integer(metadata=described("Failed or cancelled items (see the items for the reasons)."))
    skipped = fields.Integer(metadata=described("Nothing to do (already tagged, already in the SOP, ...)."))
    processed = fields.Integer(metadata=described("done + failed + skipped"))
    percent = fields.Float(metadata=described("processed / total, in percent (one decimal)."))
    items_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "pending, waiting (reassign: the customer may refuse for 24 h), done, failed, skipped, cancelled."))
    created_by = fields.String()
    error = fields.String(allow_none=True)
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class BulkItemArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(ITEM_STATUSES))


class BulkItemSchema(Schema):
    id = fields.Integer()
    external_userid = fields.String()
    name = fields.String(allow_none=True, metadata=described("The customer's name (customer-controlled text)."))
    userid = fields.String(metadata=described("The staff member of the relation."))
    staff_name = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True, metadata=described("Why it failed or was skipped."))
    errcode = fields.Integer(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
