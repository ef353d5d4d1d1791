"""WeCom errcodes the simulator answers (docs/wecom/limits.md#error-codes and WeCom's global error-code page).

Where WeCom's exact errcode for a condition is not documented we answer 40058 (不合法的参数),
which is what WeCom itself uses for "a parameter is wrong"; the errmsg says which one.
"""
from __future__ import annotations

import itertools

ERRMSG: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential",           # 不合法的secret参数
    40003: "invalid userid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",             # unknown, or a temporary media_id older than 3 days
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",                 # oauth code: unknown, used or older than 5 min
    40050: "chatid not found",
    40056: "invalid agentid",
    40058: "invalid parameter",            # 不合法的参数
    40068: "invalid tagid",
    40096: "invalid external userid",
    40097: "the member has not resigned",
    40126: "corp tag count exceeds limit",
    40128: "customer transferred too often",
    40129: "customer is being transferred",
    40130: "handover and takeover are the same member",
    40131: "handover_userid is not the follower of the external contact",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41011: "agentid missing",
    41037: "contact way type missing",
    41038: "contact way scene missing",
    41039: "invalid contact way type",
    41040: "invalid contact way scene",
    41041: "contact way user count exceeds limit",
    41043: "config_id missing",
    41044: "invalid config_id",            # 「联系我」
    41047: "invalid msgid",                # 企业群发消息id
    41048: "no customer to send to",
    41049: "welcome_code missing",
    41050: "invalid welcome code",          # late (> 20 s) or unknown
    41051: "customer and member have already started chatting",  # already used
    41055: "group welcome template count exceeds limit",
    41063: "msg is being dispatched, please retry later",
    41065: "invalid attachment msgtype",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    50100: "invalid cursor",
    60111: "userid not found",
    60123: "invalid department id",
    81013: "user & party & tag all invalid",
    81017: "request count exceeds limit, use owner_filter",
    84061: "not external contact",
    84074: "no external contact permission",
    90500: "the group owner has not resigned",
}

_hints = itertools.count(1)


class ApiError(Exception):
    """A WeCom reply with errcode != 0. Raised by the world and the endpoints."""

    def __init__(self, errcode: int, detail: str | None = None):
        self.errcode = errcode
        self.detail = detail
        super().__init__(errcode, detail)

    @property
    def errmsg(self) -> str:
        # WeCom's errmsg carries a hint and a pointer to its error-code tool; callers must decide
        # on errcode only (docs/wecom/api.md#conventions), and a realistic errmsg keeps them honest.
        text = ERRMSG.get(self.errcode, "error")
        if self.detail:
            text = f"{text}: {self.detail}"
        return (f"{text}, hint: [sandbox_{next(_hints)}], "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={self.errcode}")

    def reply(self) -> dict:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


def invalid(detail: str) -> ApiError:
    """40058 for a malformed or out-of-range parameter."""
    return ApiError(40058, detail)
