"""Open API v1: the corp tag library (企业客户标签), edited in WeCom and in our copy."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.schemas.common import UtcDateTime, described

NAME_MAX = 30  # characters, WeCom's limit for a tag's and a group's name
ORDER = validate.Range(min=0, max=2**32 - 1)
ORDER_TEXT = "WeCom's order: bigger first, 0 … 2^32-1."


def _name() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX),
                         metadata=described(f"1–{NAME_MAX} characters."))


class TagInSchema(Schema):
    name = _name()
    order = fields.Integer(validate=ORDER, metadata=described(ORDER_TEXT))


class TagGroupInSchema(Schema):
    group_name = _name()
    order = fields.Integer(validate=ORDER, metadata=described(ORDER_TEXT))
    tags = fields.List(fields.Nested(TagInSchema), required=True, validate=validate.Length(min=1, max=100),
                       metadata=described("The group's first tags (WeCom has no empty groups)."))


class TagsInSchema(Schema):
    tags = fields.List(fields.Nested(TagInSchema), required=True, validate=validate.Length(min=1, max=100))


class TagPatchSchema(Schema):
    """Only the fields given change."""
    name = fields.String(validate=validate.Length(min=1, max=NAME_MAX))
    order = fields.Integer(validate=ORDER, metadata=described(ORDER_TEXT))


class TagListArgsSchema(Schema):
    name = fields.String(validate=validate.Length(max=NAME_MAX),
                         metadata=described("Part of a group's or a tag's name."))


class TagSchema(Schema):
    tag_id = fields.String()
    group_id = fields.String()
    name = fields.String()
    order = fields.Integer(allow_none=True)
    create_time = UtcDateTime(allow_none=True)


class TagGroupSchema(Schema):
    group_id = fields.String()
    name = fields.String()
    order = fields.Integer(allow_none=True)
    create_time = UtcDateTime(allow_none=True)
    tags = fields.List(fields.Nested(TagSchema))


class TagSyncResultSchema(Schema):
    groups = fields.Integer(metadata=described("Groups WeCom listed."))
    tags = fields.Integer(metadata=described("Tags WeCom listed."))
