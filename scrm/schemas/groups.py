"""Open API v1: customer group chats (客户群) and their members."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.schemas.common import UtcDateTime, described

GROUP_STATUSES = ["active", "dismissed"]


class GroupSchema(Schema):
    chat_id = fields.String()
    name = fields.String(allow_none=True,
                         metadata=described("Customer-controlled text: escape before rendering."))
    owner = fields.String(allow_none=True, metadata=described("The owner's userid."))
    notice = fields.String(allow_none=True)
    admin_userids = fields.List(fields.String(), allow_none=True)
    create_time = UtcDateTime(allow_none=True)
    status = fields.String(metadata=described("active | dismissed"))
    dismissed_at = UtcDateTime(allow_none=True)
    member_count = fields.Integer(metadata=described("Current members (without quit_time)."))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class GroupMemberSchema(Schema):
    member_id = fields.String(metadata=described("userid (staff) or external_userid (customer)."))
    type = fields.Integer(allow_none=True, metadata=described("1 staff, 2 external contact."))
    unionid = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    group_nickname = fields.String(allow_none=True)
    join_time = UtcDateTime(allow_none=True)
    join_scene = fields.Integer(allow_none=True)
    invitor = fields.String(allow_none=True, metadata=described("userid of the inviting staff member."))
    state = fields.String(allow_none=True)
    quit_time = UtcDateTime(allow_none=True)
    quit_scene = fields.Integer(allow_none=True)


class GroupLabelBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String(allow_none=True)
    color = fields.String(allow_none=True)


class GroupDetailSchema(GroupSchema):
    labels = fields.List(fields.Nested(GroupLabelBriefSchema), metadata=described("Our group labels."))
    members = fields.List(fields.Nested(GroupMemberSchema),
                          metadata=described("Ordered by join_time; current members only unless "
                                             "include_quit=true."))


class GroupListArgsSchema(Schema):
    owner = fields.String(metadata=described("Owner userid."))
    status = fields.String(validate=validate.OneOf(GROUP_STATUSES))
    name = fields.String(validate=validate.Length(min=1, max=256),
                         metadata=described("Case-insensitive substring of the group name."))
    label_id = fields.Integer(validate=validate.Range(1, 2**31 - 1),
                              metadata=described("Only groups with this group label."))
    group_code_id = fields.Integer(validate=validate.Range(1, 2**31 - 1),
                                   metadata=described("Only groups behind this group code (群活码)."))
    created_from = UtcDateTime(metadata=described("Created (create_time) at or after."))
    created_to = UtcDateTime(metadata=described("Created (create_time) before."))

    @validates_schema
    def check_created(self, data: dict, **_: object) -> None:
        if data.get("created_from") and data.get("created_to") and data["created_from"] >= data["created_to"]:
            raise ValidationError("Must be before `created_to`.", "created_from")


class GroupDetailArgsSchema(Schema):
    include_quit = fields.Boolean(load_default=False,
                                  metadata=described("Also list members who have left (quit_time set)."))
