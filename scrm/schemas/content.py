"""Message content in the operator API: text with placeholders and up to 9 attachments.

WeCom's limits (docs/wecom/api.md#temporary-media) are checked here, when content is saved, so a send never fails
on them: text ≤ 4000 bytes (placeholders counted at their longest rendering), ≤ 9 attachments,
link title ≤ 128 bytes and desc ≤ 512 bytes, mini-program title ≤ 64 bytes.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.content_limits import (
    ATTACHMENT_TYPES,
    LINK_DESC_MAX_BYTES,
    LINK_TITLE_MAX_BYTES,
    MAX_ATTACHMENTS,
    MINIPROGRAM_TITLE_MAX_BYTES,
    PLACEHOLDER_RESERVE,
    TEXT_MAX_BYTES,
    byte_len,
    text_budget_bytes,
)
from scrm.schemas.common import described

TEXT_DESCRIPTION = (f"At most {TEXT_MAX_BYTES} bytes of UTF-8 once rendered. Placeholders rendered by the "
                    "service: `{nickname}` (the customer's WeChat name) and `{staff_name}`; for the length check "
                    "they count as " + " and ".join(f"{k} {v} B" for k, v in PLACEHOLDER_RESERVE.items()) + ".")
MEDIA_NOTE = "Id of a media asset (POST /api/v1/media); the service keeps its WeCom media_id fresh."


def check_text(text: str | None, field: str = "text", *, group: bool = False) -> None:
    if text is not None and text_budget_bytes(text, group=group) > TEXT_MAX_BYTES:
        raise ValidationError(f"At most {TEXT_MAX_BYTES} bytes once rendered (this text can take "
                              f"{text_budget_bytes(text, group=group)} bytes, counting placeholders at their "
                              "longest).", field)


def _max_bytes(limit: int):
    def check(value: str) -> None:
        if byte_len(value) > limit:
            raise ValidationError(f"At most {limit} bytes in UTF-8 (got {byte_len(value)}).")
    return check


class AttachmentSchema(Schema):
    msgtype = fields.String(required=True, validate=validate.OneOf(ATTACHMENT_TYPES))
    media = fields.Integer(metadata=described(MEDIA_NOTE + " image, video, file; mini-program cover image."))
    pic_url = fields.Url(metadata=described("image only: a picture URL instead of `media`."))
    title = fields.String(metadata=described(f"link (≤ {LINK_TITLE_MAX_BYTES} B), miniprogram "
                                             f"(≤ {MINIPROGRAM_TITLE_MAX_BYTES} B)."))
    url = fields.Url(metadata=described("link"))
    desc = fields.String(validate=_max_bytes(LINK_DESC_MAX_BYTES), metadata=described("link, optional"))
    picurl = fields.Url(metadata=described("link cover, optional"))
    appid = fields.String(validate=validate.Length(min=1, max=64), metadata=described("miniprogram"))
    page = fields.String(validate=validate.Length(min=1, max=512), metadata=described("miniprogram"))

    ALLOWED = {"image": {"media", "pic_url"}, "link": {"title", "url", "desc", "picurl"},
               "miniprogram": {"title", "appid", "page", "media"}, "video": {"media"}, "file": {"media"}}
    REQUIRED = {"link": ("title", "url"), "miniprogram": ("title", "appid", "page", "media"),
                "video": ("media",), "file": ("media",)}

    @validates_schema
    def check_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("msgtype")
        if kind not in self.ALLOWED:
            return
        errors: dict[str, list[str]] = {}
        for key in data:
            if key != "msgtype" and key not in self.ALLOWED[kind]:
                errors[key] = [f"Not used by a {kind} attachment."]
        for key in self.REQUIRED.get(kind, ()):
            if data.get(key) in (None, ""):
                errors[key] = [f"Required for a {kind} attachment."]
        if kind == "image" and (data.get("media") is None) == (data.get("pic_url") is None):
            errors["media"] = ["An image needs exactly one of media and pic_url."]
        limit = {"link": LINK_TITLE_MAX_BYTES, "miniprogram": MINIPROGRAM_TITLE_MAX_BYTES}.get(kind)
        if limit and data.get("title") and byte_len(data["title"]) > limit:
            errors["title"] = [f"At most {limit} bytes in UTF-8 (got {byte_len(data['title'])})."]
        if errors:
            raise ValidationError(errors)


def attachments_field(**kwargs: Any) -> fields.List:
    return fields.List(fields.Nested(AttachmentSchema), validate=validate.Length(max=MAX_ATTACHMENTS),
                       metadata=described(f"At most {MAX_ATTACHMENTS}; sent as separate messages after the text."),
                       **kwargs)
