"""The chat sidebar's own requests (sidebar/, sidebar/CONTRACT.md): the page's query strings and
JSON bodies, with the sidebar's Chinese messages. A failure answers 422
``{"errors": {field: [message]}}`` (sidebar/inputs.py). Only the shape is judged here: what needs
the database (tags, stages, field values, the remark's rules) is the services' to check."""
from __future__ import annotations

import sys
from datetime import datetime
from urllib.parse import urlsplit

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from scrm.models import ContentKind

MAX_ID = 2**31 - 1  # ids are INTEGER columns (PostgreSQL: 32 bits): larger ones cannot exist
LIST_MAX = 100      # items per page of a list
PAGE_MAX = 10_000   # pages of a list


def raise_if_any(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


class _SidebarSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # keys the page does not send are ignored, as they always were


class _SidebarArgsSchema(_SidebarSchema):
    @pre_load
    def _blank_is_absent(self, data, **kwargs):
        """``?q=`` is no filter: an empty query value counts as not given."""
        return {key: value for key, value in data.items() if value != ""}


def _integer(low: int, high: int, message: str, **kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(low, high, error=message),
                          error_messages={"invalid": message, "null": message}, **kwargs)


def _page() -> fields.Integer:
    return _integer(1, PAGE_MAX, f"应为 1 到 {PAGE_MAX} 之间的整数", load_default=1)


def _limit() -> fields.Integer:
    return _integer(1, LIST_MAX, f"应为 1 到 {LIST_MAX} 之间的整数", load_default=20)


class ShortText(fields.Field):
    """An optional string of at most ``limit`` characters; empty is None."""

    def __init__(self, limit: int, **kwargs) -> None:
        self.limit = limit
        message = f"应为不超过 {limit} 个字符的文本"
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", None)
        kwargs.setdefault("allow_none", True)
        kwargs["error_messages"] = {"invalid": message, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":
            return None
        if not isinstance(value, str) or len(value) > self.limit:
            raise self.make_error("invalid")
        return value


class StringList(fields.Field):
    """A JSON list of strings (``non_empty``: each one non-empty), one message for any other shape."""

    def __init__(self, message: str, non_empty: bool = False, **kwargs) -> None:
        self.non_empty = non_empty
        super().__init__(error_messages={"invalid": message, "null": message}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(v, str) and (v or not self.non_empty) for v in value):
            raise self.make_error("invalid")
        return value


class StrictId(fields.Integer):
    """A JSON integer id (not a string, float or boolean) that can exist."""

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(strict=True, validate=validate.Range(1, MAX_ID, error=message),
                         error_messages={"invalid": message}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class LocalDateTime(fields.Field):
    """ISO-8601; a time without an offset stays naive (the corp's local time: what staff type,
    converted by the service). Empty is None."""

    def __init__(self, **kwargs) -> None:
        super().__init__(load_default=None, allow_none=True, error_messages={"invalid": "时间格式不正确"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":
            return None
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None


class CustomerViewArgsSchema(_SidebarArgsSchema):
    timeline_limit = _limit()


class TimelineArgsSchema(_SidebarArgsSchema):
    before = _integer(1, MAX_ID, "应为时间线条目 id", load_default=None)
    limit = _limit()


class FollowUpPageArgsSchema(_SidebarArgsSchema):
    page = _page()
    page_size = _limit()


TAG_IDS = "应为标签 id 列表"


class TagsBodySchema(_SidebarSchema):
    add = StringList(TAG_IDS, non_empty=True, load_default=list, allow_none=True)
    remove = StringList(TAG_IDS, non_empty=True, load_default=list, allow_none=True)

    @post_load
    def _none_is_empty(self, data, **kwargs):
        return {key: value or [] for key, value in data.items()}


class StageBodySchema(_SidebarSchema):
    stage_id = StrictId("应为阶段 id", load_default=None, allow_none=True)


class FieldsBodySchema(_SidebarSchema):
    values = fields.Dict(required=True, error_messages=dict.fromkeys(  # str.format()ted: {{ is {
        ("required", "null", "invalid"), "应为 {{字段: 值}} 对象"))

    @validates_schema
    def _numbers_within_range(self, data, **kwargs):
        """A JSON integer too large for a number field (a float) is an error, by field key."""
        raise_if_any({key: ["请输入数字"] for key, value in (data.get("values") or {}).items()
                      if isinstance(value, int) and abs(value) > sys.float_info.max})


class RemarkBodySchema(_SidebarSchema):
    """Only the keys given change (the lengths and the mobiles' format: scrm/services/profile.py)."""
    remark = fields.String(allow_none=True, error_messages={"invalid": "请输入文本"})
    description = fields.String(allow_none=True, error_messages={"invalid": "请输入文本"})
    remark_mobiles = StringList("应为手机号列表")


class FollowUpBodySchema(_SidebarSchema):
    kind = fields.String(load_default="", allow_none=True,
                         error_messages={"invalid": "跟进方式应为 聊天/电话/拜访/备注 之一"})
    content = fields.String(required=True, error_messages=dict.fromkeys(("required", "null", "invalid"),
                                                                         "请填写跟进内容"))
    next_at = LocalDateTime()


class ContentArgsSchema(_SidebarArgsSchema):
    q = ShortText(64)
    category = ShortText(32)
    kind = fields.String(load_default=None, validate=validate.OneOf(
        list(ContentKind), error="应为 text、image、link 或 miniprogram"))
    page = _page()
    external_userid = ShortText(64)


class ContentSentBodySchema(_SidebarSchema):
    external_userid = ShortText(64)
    chat_id = ShortText(64)


class SopTasksArgsSchema(_SidebarArgsSchema):
    external_userid = ShortText(64, required=True, error_messages={"required": "必填"})


class PageUrl(fields.String):
    """The page URL to sign, without its ``#fragment`` (never signed)."""

    def _deserialize(self, value, attr, data, **kwargs):
        url = super()._deserialize(value, attr, data, **kwargs).split("#", 1)[0]
        if not url:
            raise self.make_error("required")
        return url


class JssdkArgsSchema(_SidebarArgsSchema):
    """``origin``: the only origin whose pages are signed (SCRM_PUBLIC_URL's)."""

    type = fields.String(required=True, validate=validate.OneOf(("corp", "agent"), error="必须是 corp 或 agent"),
                         error_messages={"required": "必须是 corp 或 agent"})
    url = PageUrl(required=True, error_messages={"required": "必填"})

    def __init__(self, origin: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.origin = origin.lower()

    @validates("url")
    def _own_page(self, value: str, **kwargs) -> None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc \
                or f"{parts.scheme}://{parts.netloc}".lower() != self.origin:
            raise ValidationError("只能为本服务的页面签名")
