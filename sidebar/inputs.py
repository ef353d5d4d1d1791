"""The sidebar's one way of reading input: a marshmallow schema (scrm/schemas/sidebar_requests.py)
for every query string and JSON body, and one answer for what fails it, or what a service finds
invalid (scrm.services.validation.Invalid): 422 ``{"code":422,"message":"输入有误，请检查",
"errors":{field:[message]}}`` (sidebar/CONTRACT.md)."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from scrm.schemas.sidebar_requests import MAX_ID
from scrm.services.validation import Invalid
from sidebar import bp
from sidebar.auth import error

INVALID = "输入有误，请检查"
ID = f"int(min=1, max={MAX_ID})"  # URL converter of ids: larger ones cannot exist (404, not a 500)


def load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid(exc.messages) from None


def args(schema: Schema) -> dict[str, Any]:
    """The query string, loaded by ``schema``."""
    return load(schema, request.args)


def body(schema: Schema, *, optional: bool = False) -> dict[str, Any]:
    """The JSON object the request carries (``optional``: none at all is ``{}``), loaded by ``schema``."""
    data = request.get_json(silent=True)
    if data is None and optional:
        data = {}
    if not isinstance(data, dict):
        raise Invalid({"json": ["请求体应为 JSON 对象"]})
    return load(schema, data)


@bp.errorhandler(Invalid)
def invalid(exc: Invalid):
    return error(422, INVALID, errors=exc.errors)
