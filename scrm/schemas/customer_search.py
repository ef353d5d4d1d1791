"""Open API v1: the customer list's filters (客户列表), saved segments (分群) and their rows.

One filter schema serves the list's query string, a segment's stored filter and (later) bulk
actions and mass messaging: scrm/services/customer_search turns what it loads into SQL."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described

RISK_LEVELS = ["active", "cooling", "dormant", "lost"]
RELATION_STATUSES = ["active", "deleted_by_staff", "deleted_by_customer", "transferred", "deleted_unknown"]
SORTS = ["-added_at", "added_at", "-last_interaction_at", "last_interaction_at"]
MAX_LIST = 100  # values per list filter
_ID = validate.Range(1, 2**31 - 1)


def _strings(description: str, length: int = 64) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(1, length)), validate=validate.Length(max=MAX_LIST),
                       metadata=described(description))


def _ids(description: str) -> fields.List:
    return fields.List(fields.Integer(validate=_ID), validate=validate.Length(max=MAX_LIST),
                       metadata=described(description))


class CustomerFilterSchema(Schema):
    """Every condition holds on one and the same follow relation (a customer with two staff
    members is two rows); lists are "any of" (repeat the parameter: `tag_id=a&tag_id=b`)."""

    q = fields.String(validate=validate.Length(1, 64), metadata=described(
        "The start of the customer's name or of the relation's remark; or a whole mobile number in "
        "the remark's mobiles (exact match only: no prefix search on phone numbers)."))
    tag_id = _strings("Corp tags (tag_id) on the relation.")
    tag_mode = fields.String(load_default="any", validate=validate.OneOf(["any", "all"]), metadata=described(
        "`any`: at least one of the tags (or); `all`: every one of them (and)."))
    stage_id = _ids("The customer's funnel stage (funnel_stage id).")
    channel_id = _ids("Added through these channel codes (their `state`).")
    state = _strings("Added with this `state` (a channel code's, or any contact way's).", 30)
    owner = _strings("The staff member (userid) the relation belongs to.")
    department_id = _ids("Staff members of these departments or their sub-departments.")
    risk_level = fields.List(fields.String(validate=validate.OneOf(RISK_LEVELS)),
                             validate=validate.Length(max=4), metadata=described(
                                 "The relation's churn risk level from the nightly scoring."))
    status = fields.List(fields.String(validate=validate.OneOf(RELATION_STATUSES)),
                         validate=validate.Length(max=5), metadata=described(
                             "Relation status; default `active` only."))
    added_from = UtcDateTime(metadata=described("Added at or after."))
    added_to = UtcDateTime(metadata=described("Added before."))
    interaction_from = UtcDateTime(metadata=described("Last interaction at or after (nightly scoring)."))
    interaction_to = UtcDateTime(metadata=described("Last interaction before (nightly scoring)."))

    @validates_schema
    def check_ranges(self, data: dict[str, Any], **_: Any) -> None:
        for start, end in (("added_from", "added_to"), ("interaction_from", "interaction_to")):
            if data.get(start) and data.get(end) and data[start] >= data[end]:
                raise ValidationError(f"Must be before `{end}`.", start)
        if data.get("tag_mode") == "all" and len(data.get("tag_id") or []) > 20:
            raise ValidationError("At most 20 tags with tag_mode=all.", "tag_id")


class CustomerSearchArgsSchema(CustomerFilterSchema):
    sort = fields.String(load_default="-added_at", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    with_total = fields.Boolean(load_default=True, metadata=described(
        "false: skip counting (`total` null), e.g. when paging on through a result already counted."))


class TagBriefSchema(Schema):
    tag_id = fields.String()
    name = fields.String(allow_none=True)
    group_name = fields.String(allow_none=True)


class CustomerRowSchema(Schema):
    relation_id = fields.Integer()
    external_userid = fields.String()
    name = fields.String(allow_none=True, metadata=described("Customer-controlled text: escape before rendering."))
    avatar = fields.String(allow_none=True)
    type = fields.Integer(allow_none=True, metadata=described("1 WeChat user, 2 WeCom user."))
    corp_name = fields.String(allow_none=True)
    userid = fields.String(metadata=described("The staff member of this relation."))
    staff_name = fields.String(allow_none=True)
    remark = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    channel_name = fields.String(allow_none=True)
    status = fields.String()
    added_at = UtcDateTime(allow_none=True)
    stage_id = fields.Integer(allow_none=True)
    stage_name = fields.String(allow_none=True)
    risk_level = fields.String(allow_none=True)
    last_interaction_at = UtcDateTime(allow_none=True)
    tags = fields.List(fields.Nested(TagBriefSchema))


class CustomerPageSchema(Schema):
    items = fields.List(fields.Nested(CustomerRowSchema))
    total = fields.Integer(allow_none=True, metadata=described(
        "Matching relations, counted exactly up to `count_cap` (null with `with_total=false`)."))
    total_capped = fields.Boolean(allow_none=True, metadata=described("More than `count_cap` match: show `total`+."))
    count_cap = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class CustomerSegmentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    filters = fields.Dict(metadata=described(
        "The filter as stored: the list's query parameters (lists as arrays, times ISO-8601 UTC)."))
    created_by = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CustomerSegmentInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 64))
    description = fields.String(allow_none=True, validate=validate.Length(max=256))
    filters = fields.Nested(CustomerFilterSchema, required=True, metadata=described(
        "The list's filters, as its query parameters (lists as arrays, times as ISO-8601)."))


class CustomerSegmentPatchSchema(CustomerSegmentInSchema):
    name = fields.String(validate=validate.Length(1, 64))
    filters = fields.Nested(CustomerFilterSchema)


class CustomerSegmentCountArgsSchema(Schema):
    exact = fields.Boolean(load_default=False, metadata=described(
        "Count every matching relation (slower on a huge segment) instead of stopping at the cap."))


class CustomerSegmentCountSchema(Schema):
    segment_id = fields.Integer()
    total = fields.Integer()
    total_capped = fields.Boolean()
    count_cap = fields.Integer(allow_none=True)
    customers = fields.Integer(allow_none=True, metadata=described(
        "Distinct customers (only with `exact=true`)."))


class CustomerProfileSchema(Schema):
    customer = fields.Dict(metadata=described("external_userid, name, avatar, type(_label), gender(_label), "
                                              "corp_name, corp_full_name, position."))
    relations = fields.List(fields.Dict(), metadata=described(
        "Per staff member: userid, staff_name, remark, description, remark_corp_name, remark_mobiles (masked), "
        "add_way(_label), state, added_at, status(_label), tags, churn_risk (or null)."))
    stage = fields.Dict(metadata=described("current {id, name} or null, and the options."))
    fields_ = fields.List(fields.Dict(), data_key="fields", metadata=described("Custom fields with values."))
    groups = fields.List(fields.Dict(), metadata=described("Current groups: chat_id, name, joined_at, member_count."))
    sops = fields.List(fields.Dict(), metadata=described("SOPs: sop_id, name, status, userid, done, total."))


class CustomerTimelineSchema(Schema):
    items = fields.List(fields.Dict(), metadata=described(
        "id, kind, kind_label, summary, changes, occurred_at, userid, source; newest first."))
    next_before = fields.Integer(allow_none=True, metadata=described("`before` for the next page, or null."))


class SearchOptionsSchema(Schema):
    tag_groups = fields.List(fields.Dict(), metadata=described("{group_id, name, tags: [{tag_id, name}]}"))
    stages = fields.List(fields.Dict(), metadata=described("{id, name}"))
    channels = fields.List(fields.Dict(), metadata=described("{id, name, state, status}"))
    staff = fields.List(fields.Dict(), metadata=described("{userid, name}: members who have not left."))
    departments = fields.List(fields.Dict(), metadata=described("{id, name, parent_id}"))
    group_labels = fields.List(fields.Dict(), metadata=described("{id, name}"))
    group_codes = fields.List(fields.Dict(), metadata=described("{id, name}"))
