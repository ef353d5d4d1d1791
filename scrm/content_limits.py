"""WeCom's limits on message content (docs/wecom/limits.md#content-limits) and the byte budget of a text with
placeholders.

Pure values and functions, no database: the API schemas check content against them when it is
saved (scrm/schemas/content.py), the services when they render it (scrm/services/content.py).
"""
from __future__ import annotations

TEXT_MAX_BYTES = 4000
MAX_ATTACHMENTS = 9
LINK_TITLE_MAX_BYTES = 128
LINK_DESC_MAX_BYTES = 512
MINIPROGRAM_TITLE_MAX_BYTES = 64
ATTACHMENT_TYPES = ("image", "link", "miniprogram", "video", "file")
NICKNAME, STAFF_NAME = "{nickname}", "{staff_name}"
# Bytes a rendered placeholder may take, reserved when a text's length is checked at save time
# (WeChat nicknames are at most 32 characters; 3 bytes each in UTF-8).
PLACEHOLDER_RESERVE = {NICKNAME: 96, STAFF_NAME: 192}


def byte_len(text: str | None) -> int:
    return len((text or "").encode("utf-8"))


def text_budget_bytes(text: str | None) -> int:
    """The worst-case byte length of ``text`` once its placeholders are rendered."""
    text = text or ""
    total = byte_len(text)
    for token, reserve in PLACEHOLDER_RESERVE.items():
        total += text.count(token) * (reserve - byte_len(token))
    return total
