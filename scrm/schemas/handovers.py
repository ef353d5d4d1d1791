"""Open API v1: handovers (离职继承 / 在职转接) — batches, their items, approval."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.models import BatchStatus, HandoverKind, ItemStatus
from scrm.schemas.common import UtcDateTime, described

USERID = fields.String(validate=validate.Length(min=1, max=64))
RULES = ("manager", "workload", "manual")
RULE_NOTE = ("manager: the handover member's department leader (WeCom's is_leader_in_dept, else a staff member "
             "with the SCRM role manager in that department), up the department tree, else workload; workload: "
             "each item to the team member with the fewest active customers (team: default the handover member's "
             "department); manual: everything to takeover_userid.")


class ProposeSchema(Schema):
    rule = fields.String(required=True, validate=validate.OneOf(RULES), metadata=described(RULE_NOTE))
    team = fields.List(USERID, load_default=None, validate=validate.Length(max=500),
                       metadata=described("workload: the members to spread across."))
    takeover_userid = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                                    metadata=described("manual: the successor of every item."))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("rule") == "manual" and not data.get("takeover_userid"):
            raise ValidationError("Required with rule manual.", "takeover_userid")


class OnjobInSchema(ProposeSchema):
    rule = fields.String(load_default="workload", validate=validate.OneOf(RULES), metadata=described(RULE_NOTE))
    handover_userid = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                    metadata=described("The member (still employed) whose customers move."))
    external_userids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=None,
                                   validate=validate.Length(max=10000),
                                   metadata=described("Their customers to move (default: all active ones)."))
    chat_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=None,
                           validate=validate.Length(max=5000),
                           metadata=described("Groups they own to move (default: all; [] for none)."))
    transfer_success_msg = fields.String(load_default=None, validate=validate.Length(max=200),
                                         metadata=described("Sent to each customer by WeCom when the transfer "
                                                            "starts (≤ 200 characters; WeCom's default otherwise)."))


class ResignedInSchema(Schema):
    handover_userid = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                    metadata=described("A member who left; their customers and groups waiting "
                                                       "for a successor in WeCom are listed."))


class ApproveSchema(Schema):
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                metadata=described("The approving manager's userid (an active member)."))


class ItemPatchSchema(Schema):
    takeover_userid = fields.String(validate=validate.Length(min=1, max=64))
    cancelled = fields.Boolean(metadata=described("true: leave this item out of the batch."))


class BatchArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in BatchStatus]))
    kind = fields.String(validate=validate.OneOf([k.value for k in HandoverKind]))
    handover_userid = fields.String(validate=validate.Length(min=1, max=64))


class ItemArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in ItemStatus]))
    target = fields.String(validate=validate.OneOf(("customer", "group")))


class SuccessorSchema(Schema):
    userid = fields.String()
    name = fields.String(allow_none=True)
    items = fields.Integer()


class LimitsSchema(Schema):
    per_call = fields.Integer()
    transfers_per_customer = fields.Integer()
    window_days = fields.Integer()
    refuse_within_hours = fields.Integer()
    text = fields.String()


class BatchSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata=described("resigned (离职继承) | onjob (在职转接)"))
    handover_userid = fields.String()
    handover_name = fields.String(allow_none=True)
    rule = fields.String()
    team = fields.List(fields.String(), allow_none=True)
    status = fields.String(metadata=described("proposed (waiting for approval) | approved | running (waiting "
                                              "for customers, up to 24 h) | done | cancelled"))
    transfer_success_msg = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    cancelled_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    counts = fields.Dict(metadata=described("Items by target (customer, group) and status."))
    successors = fields.List(fields.Nested(SuccessorSchema))
    limits = fields.Nested(LimitsSchema, metadata=described("WeCom's transfer limits, as respected here."))


class ItemSchema(Schema):
    id = fields.Integer()
    target = fields.String(metadata=described("customer | group"))
    target_id = fields.String(metadata=described("external_userid or chat_id"))
    name = fields.String(allow_none=True, metadata=described("Customer-controlled text: escape it."))
    takeover_userid = fields.String(allow_none=True)
    takeover_name = fields.String(allow_none=True)
    status = fields.String(metadata=described("proposed | waiting | done | refused | limit | failed | cancelled"))
    errcode = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True, metadata=described("Why it is not done, in words (a WeCom limit "
                                                               "explained)."))
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    records_moved_at = UtcDateTime(allow_none=True, metadata=described("When our records (follow-ups, SOP "
                                                                       "progress) moved to the successor."))
