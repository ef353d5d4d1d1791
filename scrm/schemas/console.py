"""The console's own requests (console/): the sign-in form. Chinese messages, shown in place."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

REQUIRED = {"required": "必填", "null": "必填"}


class PasswordLogin(Schema):
    """POST /console/login (a form): a local administrator's username and password."""

    class Meta:
        unknown = EXCLUDE  # csrf_token, next

    username = fields.String(required=True, error_messages=REQUIRED,
                             validate=validate.Length(min=1, max=64, error="请输入用户名（最多 64 个字符）"))
    password = fields.String(required=True, error_messages=REQUIRED,
                             validate=validate.Length(min=1, max=256, error="请输入密码（最多 256 个字符）"))
