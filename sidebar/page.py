"""GET /sidebar/: the page (plain HTML + our own JS and CSS; the data comes from /sidebar/api/).

Without a staff session the page starts OAuth (oauth.py). Outside sandbox mode it loads the real
JS-SDK (@wecom/jssdk, vendored under static/vendor/); in sandbox mode the stand-in
ww-standin.js, which asks the simulator's chat window that frames the page. The stand-in is 404
outside sandbox mode.
"""
from __future__ import annotations

from flask import Response, abort, current_app, render_template, request

from scrm.config import settings
from sidebar import bp, oauth
from sidebar.auth import origin_of

SANDBOX_ONLY_ASSETS = {"ww-standin.js"}
JSSDK = "vendor/wecom-jssdk-2.4.4.js"  # @wecom/jssdk 2.4.4, dist/wecom.global.prod.js (exposes `ww`)
# Only our own scripts run; no inline script or event handler (everything else stays open: the
# real JS-SDK talks to the WeCom client, and avatars come from WeCom's image hosts).
CSP = "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
# Who may frame the sidebar (clickjacking): WeCom opens a 聊天工具栏 page in its own webview (the
# desktop and mobile clients' built-in browser), at the top level, from the app's 可信域名
# (SCRM_PUBLIC_URL): no WeCom web page frames it, so only our own origin may. In sandbox mode the
# simulator's chat window frames the sidebar from the simulator's origin (WECOM_API_BASE_URL's).
# README.md → Chat sidebar → "Who may frame the sidebar" has the reasoning.
OWN_ORIGIN = "'self'"


def sandbox() -> bool:
    return settings().sandbox


@bp.before_request
def sandbox_only() -> None:
    """The stand-in does not exist outside sandbox mode."""
    if sandbox() or request.endpoint != "sidebar.static":
        return
    if (request.view_args or {}).get("filename") in SANDBOX_ONLY_ASSETS:
        abort(404)


def frame_ancestors() -> str:
    sources = [OWN_ORIGIN]
    if sandbox():
        sources.append(origin_of(settings().wecom_api_base_url))
    return "frame-ancestors " + " ".join(sources)


@bp.after_request
def framing(response: Response) -> Response:
    """Every sidebar answer (the page, OAuth's pages, JSON) says who may frame it."""
    policy = response.headers.get("Content-Security-Policy")
    response.headers["Content-Security-Policy"] = f"{policy}; {frame_ancestors()}" if policy else frame_ancestors()
    return response


@bp.get("/")
def index():
    if oauth.needs_login():  # no session (or, in sandbox mode, the chat window plays another member)
        return oauth.login_redirect(request.full_path)
    config = settings()
    response = current_app.make_response(render_template(
        "sidebar/index.html", sandbox=sandbox(), jssdk="ww-standin.js" if sandbox() else JSSDK,
        corp_id=config.wecom_corp_id, agent_id=config.wecom_agent_id))
    response.headers["Content-Security-Policy"] = CSP
    return response
