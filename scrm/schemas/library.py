"""Open API v1: the content library (话术 and 素材) the chat sidebar sends in one tap."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.content_limits import LINK_DESC_MAX_BYTES, LINK_TITLE_MAX_BYTES, MINIPROGRAM_TITLE_MAX_BYTES
from scrm.models import ContentKind
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.content import MEDIA_NOTE, TEXT_DESCRIPTION, _max_bytes, check_text

KINDS = tuple(ContentKind)
HTTP_URL = {"schemes": {"http", "https"}}
BODY_NOTE = ("By kind — text (话术): `{content}`; image: `{media}` (an image asset); link: `{url, title, desc?, "
             "picurl?}`; miniprogram: `{appid, page, title, media}` (media: the cover image asset).")


class TextBody(Schema):
    content = fields.String(required=True, validate=validate.Length(min=1), metadata=described(TEXT_DESCRIPTION))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        check_text(data.get("content"), "content")


class ImageBody(Schema):
    media = fields.Integer(required=True, metadata=described(MEDIA_NOTE))


class LinkBody(Schema):
    url = fields.Url(required=True, **HTTP_URL)
    title = fields.String(required=True, validate=[validate.Length(min=1), _max_bytes(LINK_TITLE_MAX_BYTES)])
    desc = fields.String(validate=_max_bytes(LINK_DESC_MAX_BYTES))
    picurl = fields.Url(**HTTP_URL)


class MiniprogramBody(Schema):
    appid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    page = fields.String(required=True, validate=validate.Length(min=1, max=512))
    title = fields.String(required=True, validate=[validate.Length(min=1), _max_bytes(MINIPROGRAM_TITLE_MAX_BYTES)])
    media = fields.Integer(required=True, metadata=described(MEDIA_NOTE + " The cover image."))


BODIES: dict[str, type[Schema]] = {"text": TextBody, "image": ImageBody, "link": LinkBody,
                                   "miniprogram": MiniprogramBody}


def body_errors(kind: str, body: Any) -> dict[str, Any]:
    """Field messages for a body of this kind (empty when it is valid)."""
    if not isinstance(body, dict):
        return {"_schema": ["Expected an object."]}
    return BODIES[kind]().validate(body)


class ContentPatchSchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS), metadata=described("text | image | link | miniprogram"))
    title = fields.String(validate=validate.Length(min=1, max=64))
    category = fields.String(validate=validate.Length(min=1, max=32))
    keywords = fields.String(allow_none=True, validate=validate.Length(max=256),
                             metadata=described("Extra words the sidebar search matches (besides title and text)."))
    body = fields.Dict(metadata=described(BODY_NOTE))

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if "kind" in data and "body" not in data:
            raise ValidationError("Required when kind changes.", "body")
        if "kind" in data:
            errors = body_errors(data["kind"], data["body"])
            if errors:
                raise ValidationError({"body": errors})


class ContentInSchema(ContentPatchSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS),
                         metadata=described("text | image | link | miniprogram"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(load_default="默认", validate=validate.Length(min=1, max=32))
    body = fields.Dict(required=True, metadata=described(BODY_NOTE))


class ContentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    category = fields.String()
    title = fields.String()
    keywords = fields.String(allow_none=True)
    body = fields.Dict()
    use_count = fields.Integer(metadata=described("Times sent from the sidebar."))
    last_used_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ContentListArgsSchema(Schema):
    q = fields.String(validate=validate.Length(min=1, max=64),
                      metadata=described("Case-insensitive substring of the title, keywords, text or link "
                                         "description."))
    category = fields.String(validate=validate.Length(min=1, max=32))
    kind = fields.String(validate=validate.OneOf(KINDS))


class CategorySchema(Schema):
    name = fields.String()
    count = fields.Integer(metadata=described("Items (not deleted) in the category."))
