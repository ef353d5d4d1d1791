"""Open API v1: customers (external contacts), their follow relations, tags, groups, timeline."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models import RelationStatus
from scrm.schemas.common import UtcDateTime, described

RELATION_STATUSES = [status.value for status in RelationStatus]


class RelationTagSchema(Schema):
    tag_id = fields.String(allow_none=True, metadata=described("Corp tag id; null for personal tags."))
    name = fields.String(allow_none=True)
    group_name = fields.String(allow_none=True)
    type = fields.Integer(allow_none=True,
                          metadata=described("1 corp tag, 2 personal tag, 3 rule-group tag."))


class RelationCompactSchema(Schema):
    userid = fields.String(metadata=described("The staff member's userid."))
    staff_name = fields.String(allow_none=True,
                               metadata=described("Null when the staff member is not synced."))
    remark = fields.String(allow_none=True)
    status = fields.String(metadata=described("One of: " + ", ".join(RELATION_STATUSES) + "."))
    added_at = UtcDateTime(allow_none=True)
    status_changed_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime()
    tags = fields.List(fields.Nested(RelationTagSchema))


class RelationSchema(RelationCompactSchema):
    description = fields.String(allow_none=True)
    remark_corp_name = fields.String(allow_none=True)
    remark_mobiles = fields.List(fields.String(), allow_none=True)
    add_way = fields.Integer(allow_none=True,
                             metadata=described("WeCom add_way (how the customer was added)."))
    state = fields.String(allow_none=True, metadata=described("The `state` of the contact-way QR code used."))
    oper_userid = fields.String(allow_none=True)
    created_at = UtcDateTime()


class CustomerSchema(Schema):
    external_userid = fields.String()
    name = fields.String(allow_none=True,
                         metadata=described("Customer-controlled text: escape before rendering."))
    avatar = fields.String(allow_none=True)
    type = fields.Integer(allow_none=True, metadata=described("1 WeChat user, 2 WeCom user."))
    gender = fields.Integer(allow_none=True, metadata=described("0 unknown, 1 male, 2 female."))
    corp_name = fields.String(allow_none=True)
    corp_full_name = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    unionid = fields.String(allow_none=True)
    external_profile = fields.Dict(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CustomerListItemSchema(CustomerSchema):
    relations = fields.List(fields.Nested(RelationCompactSchema),
                            metadata=described("Every follow relation of the customer, in any status."))


class CustomerGroupSchema(Schema):
    chat_id = fields.String()
    name = fields.String(allow_none=True, metadata=described("Null when the group is not synced."))
    owner = fields.String(allow_none=True)
    group_status = fields.String(allow_none=True, metadata=described("active | dismissed"))
    join_time = UtcDateTime(allow_none=True)
    join_scene = fields.Integer(allow_none=True)
    quit_time = UtcDateTime(allow_none=True)
    current = fields.Boolean(metadata=described("True while the customer is in the group: no quit_time "
                                                "and the group is not dismissed."))


class TimelineEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    source = fields.String(metadata=described("callback | sync | api | sidebar | job"))
    userid = fields.String(allow_none=True)
    occurred_at = UtcDateTime()
    summary = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


class CustomerDetailSchema(CustomerSchema):
    relations = fields.List(fields.Nested(RelationSchema))
    groups = fields.List(fields.Nested(CustomerGroupSchema),
                         metadata=described("Current and past group memberships, latest join first."))
    timeline = fields.List(fields.Nested(TimelineEntrySchema),
                           metadata=described("Latest entries first (by occurred_at)."))


class CustomerListArgsSchema(Schema):
    userid = fields.String(metadata=described("Only customers with a relation to this staff member."))
    tag_id = fields.String(metadata=described("Only customers with a relation carrying this corp tag."))
    status = fields.String(validate=validate.OneOf(RELATION_STATUSES),
                           metadata=described("Only customers with a relation in this status."))
    updated_since = UtcDateTime(metadata=described(
        "Only customers where the customer or any of its relations was updated at or after this time."))


class CustomerDetailArgsSchema(Schema):
    timeline_limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200),
                                    metadata=described("How many timeline entries (1–200)."))
