"""Who a console request acts for, the sign-in gate, and CSRF protection.

The session: cookie ``scrm_console`` (HttpOnly, SameSite=Lax, Secure when SCRM_PUBLIC_URL is
https, path /console) holds a random token; scrm/services/console/sessions.py resolves it on
every request, so an expired session, a signed-out one, or a staff member who has left is
refused at once. ``g.console`` is the Principal, or None.

Before sign-in, cookie ``scrm_console_pre`` (a random value, same flags, for the browser's
session) binds the sign-in form and the WeCom login state to this browser.

CSRF: every POST/PUT/PATCH/DELETE under /console/ must carry the page's token, in the
``X-CSRF-Token`` header (console.js sends it) or a ``csrf_token`` form field; the token is an
HMAC (SECRET_KEY) of the session token, or of the pre-sign-in value before sign-in, so it
changes at every sign-in. Missing or wrong: 400. Pages carry it in ``<meta name="csrf-token">``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, jsonify, redirect, render_template, request, url_for

from console import bp
from scrm.config import settings
from scrm.services.console import sessions

SESSION_COOKIE = "scrm_console"
PRE_COOKIE = "scrm_console_pre"
COOKIE_PATH = "/console"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = frozenset({"console.static", "console.login_form", "console.login_password",
                              "console.wecom_start", "console.wecom_callback"})
HOME = "/console/"


def cookie_flags() -> dict:
    return {"path": COOKIE_PATH, "httponly": True, "samesite": "Lax",
            "secure": settings().public_url.startswith("https://")}


def pre_value() -> str:
    """This browser's pre-sign-in value: the cookie's, or a new one that the response sets."""
    value = request.cookies.get(PRE_COOKIE) or g.get("console_new_pre")
    if not value or len(value) > 64:
        value = g.console_new_pre = secrets.token_urlsafe(24)
    return value


def csrf_token() -> str:
    binding = request.cookies.get(SESSION_COOKIE) if g.get("console") else pre_value()  # see identify()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"scrm-console-csrf\0{binding}".encode(),
                    hashlib.sha256).hexdigest()


def safe_next(value: str | None) -> str:
    """Only a path under /console/ (no scheme, host, '..', backslash or control characters)."""
    if not value or not value.startswith(HOME) or ".." in value or "\\" in value or value.startswith("//"):
        return HOME
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return HOME
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else HOME


def wants_json() -> bool:
    return request.path.startswith("/console/api/")


def refuse(status: int, message: str, **extra):
    """A refusal: JSON under /console/api/, else a small Chinese page."""
    if wants_json():
        response = jsonify(code=status, message=message, **extra)
        response.status_code = status
        return response
    return render_template("console/message.html", title="无法完成操作", message=message,
                           link=extra.get("login_url") or url_for("console.login_form"),
                           link_text="返回登录"), status


@bp.before_app_request
def identify():
    """Every request under /console/ (an app-level hook, so a method no route takes is refused
    by the CSRF check too, before routing answers 405)."""
    if not request.path.startswith(HOME) or request.endpoint == "console.static":
        return None
    g.pop("console_new_pre", None)  # g outlives a request where an app context was pushed first (tests)
    g.pop("console_role", None)  # console/access.py's per-request cache
    g.console = sessions.resolve(request.cookies.get(SESSION_COOKIE))
    if g.console is None and request.endpoint == "console.logout":
        return redirect(url_for("console.login_form"))  # nothing to sign out of
    if request.method not in SAFE_METHODS and not _csrf_ok():
        return refuse(400, "页面已过期或请求来源不受信任，请刷新页面后重试。")
    if g.console is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if wants_json():
            return refuse(401, "登录已过期，请重新登录", login_url=url_for("console.login_form"))
        if request.method in SAFE_METHODS:
            return redirect(url_for("console.login_form", next=safe_next(request.full_path.rstrip("?"))))
        return redirect(url_for("console.login_form"))
    return None


def _csrf_ok() -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    binding = request.cookies.get(SESSION_COOKIE) if g.console else request.cookies.get(PRE_COOKIE)
    if not sent or not binding:
        return False
    return hmac.compare_digest(sent.encode(), csrf_token().encode())


@bp.after_request
def set_pre_cookie(response):
    if g.get("console_new_pre"):
        response.set_cookie(PRE_COOKIE, g.console_new_pre, **cookie_flags())
    return response


@bp.app_context_processor
def console_template_values() -> dict:
    if request.blueprint != "console":
        return {}
    return {"console_csrf_token": csrf_token}
