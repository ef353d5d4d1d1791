"""WeCom OAuth2 for the sidebar (docs/wecom/sidebar.md#oauth): snsapi_base → code → auth/getuserinfo → session.

  GET /sidebar/oauth/start?next=/sidebar/…   302 to WeCom's authorize page (WECOM_OAUTH_URL)
  GET /sidebar/oauth/callback?code=&state=   state checked (constant time, single use), then
                                             auth/getuserinfo; a member gets the session and a 302
                                             to ``next``; anything else a small Chinese page
  GET /sidebar/api/me                        who the session belongs to, with their SCRM role

The state and ``next`` live in the Flask session (signed cookie) for STATE_TTL seconds; a few
flows may be pending at once (single and group chat toolbars opened side by side). Only the corp
this deployment is configured for (WECOM_CORP_ID / WECOM_AGENT_ID) is served.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import string
import time
from urllib.parse import unquote, urlencode, urlsplit

from flask import Response, g, jsonify, redirect, render_template, request, session, url_for

from scrm.config import settings
from scrm.services import sidebar_actions, sidebar_session
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError
from sidebar import bp
from sidebar.auth import current_staff, login_session, require_staff

log = logging.getLogger(__name__)

STATE_KEY = "sidebar_oauth"   # session: {state: {"next": "/sidebar/…", "exp": unix seconds}}
STATE_TTL = 600               # s; WeCom's code itself lives 5 minutes
MAX_PENDING = 5
STATE_ALPHABET = string.ascii_letters + string.digits
DEFAULT_NEXT = "/sidebar/"
SANDBOX_STAFF_COOKIE = "sandbox_staff"  # set by the simulator's chat window (sandbox only)


def safe_next(value: str | None) -> str:
    """Only a relative path under /sidebar/ (no scheme, host, '..' or control characters)."""
    if not value or not value.startswith(DEFAULT_NEXT) or ".." in value or "\\" in value:
        return DEFAULT_NEXT
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else DEFAULT_NEXT


def login_redirect(next_url: str) -> Response:
    """302 to the start of OAuth, coming back to ``next_url`` (a path under /sidebar/)."""
    return redirect(url_for("sidebar.oauth_start", next=safe_next(next_url)))


def needs_login() -> bool:
    """No valid session, or (sandbox only) the simulator's chat window now plays another member."""
    staff = current_staff()
    if staff is None:
        return True
    chosen = unquote(request.cookies.get(SANDBOX_STAFF_COOKIE, "")) if settings().sandbox else ""
    return bool(chosen) and chosen != staff.userid


def _page(status: int, title: str, message: str, retry_next: str | None = None):
    retry = url_for("sidebar.oauth_start", next=retry_next) if retry_next else None
    return render_template("sidebar/oauth_error.html", title=title, message=message, retry=retry), status


@bp.get("/oauth/start")
def oauth_start():
    cfg = settings()
    now = int(time.time())
    state = "".join(secrets.choice(STATE_ALPHABET) for _ in range(32))
    pending = {s: v for s, v in (session.get(STATE_KEY) or {}).items()
               if isinstance(v, dict) and isinstance(v.get("exp"), int) and v["exp"] > now}
    pending = dict(list(pending.items())[-(MAX_PENDING - 1):])
    pending[state] = {"next": safe_next(request.args.get("next")), "exp": now + STATE_TTL}
    session[STATE_KEY] = pending
    query = urlencode([("appid", cfg.wecom_corp_id),
                       ("redirect_uri", cfg.public_url + url_for("sidebar.oauth_callback")),
                       ("response_type", "code"), ("scope", "snsapi_base"), ("state", state),
                       ("agentid", cfg.wecom_agent_id)])
    return redirect(f"{cfg.wecom_oauth_url}?{query}#wechat_redirect")


def _take_state(state: str) -> dict | None:
    """The pending flow for ``state`` (removed: single use), compared in constant time."""
    pending = session.get(STATE_KEY)
    if not state or not isinstance(pending, dict):
        return None
    found = None
    for candidate in list(pending):
        if hmac.compare_digest(candidate.encode(), state.encode()):
            found = candidate
    if found is None:
        return None
    flow = pending.pop(found)
    session[STATE_KEY] = pending
    if not isinstance(flow, dict) or not isinstance(flow.get("exp"), int) or flow["exp"] < time.time():
        return None
    return flow


@bp.get("/oauth/callback")
def oauth_callback():
    flow = _take_state(request.args.get("state", ""))
    if flow is None:
        return _page(400, "登录已失效", "登录请求已过期或无效，请关闭后重新打开侧边栏。", DEFAULT_NEXT)
    next_url = safe_next(flow.get("next"))
    code = request.args.get("code", "")
    if not code:
        return _page(400, "登录失败", "企业微信没有返回授权码，请重试。", next_url)
    corp_id = settings().wecom_corp_id
    try:
        reply = wecom_client(corp_id).auth_getuserinfo(code)
    except WeComError as exc:
        log.warning("sidebar oauth: auth/getuserinfo failed errcode=%s %s", exc.errcode, exc.errmsg)
        if exc.retryable or exc.errcode is None:
            return _page(502, "登录失败", "暂时无法连接企业微信，请稍后重试。", next_url)
        return _page(400, "登录失败", f"企业微信拒绝了本次登录（错误码 {exc.errcode}），请重试。", next_url)
    userid = reply.get("userid") or reply.get("UserId")
    if not userid:
        log.info("sidebar oauth: not a member of corp %s", corp_id)
        return _page(403, "无法使用侧边栏", "侧边栏仅供本企业成员使用，你不是本企业的成员。")
    version = sidebar_session.session_version(corp_id, userid)
    if version is None:
        log.info("sidebar oauth: userid=%s of corp %s has left or is disabled", userid, corp_id)
        return _page(403, "无法使用侧边栏", "你的账号已停用或已离职，无法使用侧边栏。")
    login_session(corp_id, userid, version)
    log.info("sidebar oauth: signed in userid=%s corp=%s", userid, corp_id)
    return redirect(next_url)


@bp.get("/api/me")
@require_staff
def me():
    return jsonify(sidebar_actions.me(g.staff.corp_id, g.staff.userid))
