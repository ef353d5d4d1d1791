"""WeCom OAuth2 for the sidebar (PROTOCOL.md §4.4). Placeholder: implemented with issue #6."""
from __future__ import annotations

from flask import abort

from sidebar import bp


@bp.get("/oauth/start")
def oauth_start():
    abort(501)
