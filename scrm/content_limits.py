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
NICKNAME, STAFF_NAME, GROUP_NAME = "{nickname}", "{staff_name}", "{group_name}"
# Bytes a rendered placeholder may take, reserved when a text's length is checked at save time
# (WeChat nicknames are at most 32 characters; 3 bytes each in UTF-8). In group SOP texts
# {group_name} is the group's name (clipped to 64 characters) and {nickname} the new members'
# names (at most GROUP_NICKNAMES of them, then "等N人").
GROUP_NICKNAMES = 3
PLACEHOLDER_RESERVE = {NICKNAME: 96, STAFF_NAME: 192, GROUP_NAME: 192}
GROUP_NICKNAME_RESERVE = GROUP_NICKNAMES * 96 + 3 * (GROUP_NICKNAMES - 1) + 24


def byte_len(text: str | None) -> int:
    return len((text or "").encode("utf-8"))


def text_budget_bytes(text: str | None, *, group: bool = False) -> int:
    """The worst-case byte length of ``text`` once its placeholders are rendered (``group``:
    a group SOP text, where {nickname} is several members' names)."""
    text = text or ""
    total = byte_len(text)
    reserves = {**PLACEHOLDER_RESERVE, NICKNAME: GROUP_NICKNAME_RESERVE} if group else PLACEHOLDER_RESERVE
    for token, reserve in reserves.items():
        total += text.count(token) * (reserve - byte_len(token))
    return total
