"""The endpoint registry and the request object handlers read their parameters from.

A handler is ``fn(call) -> dict`` registered for one or more API paths (relative to /cgi-bin/).
It runs with the world lock held, returns the reply fields (errcode/errmsg are added by the
dispatcher) or raises ApiError. Parameter helpers raise 40058 for malformed values, so handlers
state their limits once, where they read the value.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError, invalid
from sandbox.world import World


@dataclass(frozen=True)
class Endpoint:
    fn: Callable[[Call], dict]
    auth: bool  # needs a valid access_token (everything but gettoken)


HANDLERS: dict[str, Endpoint] = {}


def endpoint(*paths: str, auth: bool = True) -> Callable:
    def register(fn: Callable[[Call], dict]) -> Callable[[Call], dict]:
        for path in paths:
            HANDLERS[path] = Endpoint(fn, auth)
        return fn
    return register


@dataclass
class Call:
    world: World
    args: Mapping[str, str]   # the query string
    body: dict[str, Any]      # the JSON body ({} for GET and multipart uploads)
    files: Mapping[str, Any] | None = None  # multipart uploads (media/upload): name → FileStorage

    def get(self, name: str, default: Any = None) -> Any:
        """A body field, else a query parameter (WeCom's GET APIs take their input as query)."""
        if name in self.body and self.body[name] is not None:
            return self.body[name]
        return self.args.get(name, default)

    def text(self, name: str, *, required: bool = False, max_chars: int | None = None,
             missing: int = 40058) -> str:
        value = self.get(name)
        if value in (None, ""):
            if required:
                raise ApiError(missing, f"{name} is required")
            return ""
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string")
        if max_chars is not None and len(value) > max_chars:
            raise invalid(f"{name} is longer than {max_chars} characters")
        return value

    def integer(self, name: str, default: int | None = None, *, required: bool = False,
                low: int | None = None, high: int | None = None) -> int | None:
        value = self.get(name)
        if value in (None, ""):
            if required:
                raise invalid(f"{name} is required")
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(f"{name} must be an integer") from None
        out_of_range = (low is not None and number < low) or (high is not None and number > high)
        if isinstance(value, bool) or out_of_range:
            raise invalid(f"{name} out of range [{low}, {high}]")
        return number

    def items(self, name: str, *, required: bool = False, max_items: int | None = None) -> list | None:
        """A JSON list (None when absent and not required)."""
        value = self.body.get(name)
        if value is None:
            if required:
                raise invalid(f"{name} is required")
            return None
        if not isinstance(value, list):
            raise invalid(f"{name} must be a list")
        if required and not value:
            raise invalid(f"{name} must not be empty")
        if max_items is not None and len(value) > max_items:
            raise invalid(f"{name} has more than {max_items} items")
        return value


# Cursors are opaque to callers (like WeCom's): a version tag and our position, base64url-coded.

def encode_cursor(*parts: object) -> str:
    raw = "c1:" + ":".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[int] | None:
    """The ``size`` integers of a cursor we issued; None for no cursor; 50100 for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, *parts = raw.split(":")
        values = [int(part) for part in parts]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(50100) from None
    if tag != "c1" or len(values) != size or any(v < 0 for v in values):
        raise ApiError(50100)
    return values


def offset_page(rows: list, cursor: str | None, limit: int) -> tuple[list, str]:
    """Offset paging for small, append-only lists (tasks, results, transfers)."""
    start = (decode_cursor(cursor, 1) or [0])[0]
    page = rows[start:start + limit]
    return page, encode_cursor(start + limit) if start + limit < len(rows) else ""


def byte_len(text: str) -> int:
    return len(text.encode("utf-8"))
