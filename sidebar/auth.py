"""The sidebar's staff session: who is using the sidebar, established by OAuth (oauth.py).

The identity lives in Flask's signed session cookie (SECRET_KEY) as
``session["sidebar"] = {"corp_id", "userid", "exp": <unix seconds>, "ver": <session version>}``;
OAuth runs again only when it is missing, expired or no longer valid. Every JSON endpoint is
wrapped in ``require_staff``, which also asks scrm/services/sidebar_session.py on every request
whether the member may still use the sidebar (not left, not disabled, sessions not revoked).

State-changing requests (POST/PUT/PATCH/DELETE under /sidebar/api/) must also show they come from
the sidebar page itself: the ``X-Requested-With: scrm-sidebar`` header sidebar.js sends (a
cross-site form cannot set it, and a cross-site fetch with it needs a CORS preflight we never
grant), or an ``Origin`` equal to SCRM_PUBLIC_URL's origin. Anything else is 403.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, jsonify, request, session, url_for

from scrm.config import settings
from scrm.services import sidebar_session
from sidebar import bp

SESSION_KEY = "sidebar"
PAGE_HEADER = ("X-Requested-With", "scrm-sidebar")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class StaffIdentity:
    corp_id: str
    userid: str


def login_session(corp_id: str, userid: str, version: int) -> None:
    """Start (or renew) the staff session; ``version``: sidebar_session.session_version's."""
    hours = settings().sidebar_session_hours
    session[SESSION_KEY] = {"corp_id": corp_id, "userid": userid, "exp": int(time.time() + hours * 3600),
                            "ver": version}
    session.permanent = True


def current_staff() -> StaffIdentity | None:
    """The session's staff member while the session is valid: not expired, and the member still
    active with the session version it was signed in with (one indexed query)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not data.get("userid") or not data.get("corp_id"):
        return None
    if not isinstance(data.get("exp"), int) or data["exp"] < time.time():
        return None
    version = data.get("ver", 0)  # sessions from before versions existed count as version 0
    if not isinstance(version, int) or not sidebar_session.is_valid(data["corp_id"], data["userid"], version):
        return None
    return StaffIdentity(data["corp_id"], data["userid"])


def error(status: int, message: str, **extra):
    response = jsonify(code=status, message=message, **extra)
    response.status_code = status
    return response


def require_staff(view):
    """401 JSON (with the URL that starts OAuth again) when there is no valid session; otherwise
    ``g.staff`` is the StaffIdentity."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return error(401, "登录已过期，请重新打开侧边栏", login_url=url_for("sidebar.oauth_start"))
        g.staff = staff
        return view(*args, **kwargs)

    return wrapped


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_the_page() -> bool:
    """The request carries the sidebar page's header, or its Origin is SCRM_PUBLIC_URL's."""
    name, value = PAGE_HEADER
    if request.headers.get(name) == value:
        return True
    origin = request.headers.get("Origin")
    return bool(origin) and origin.lower() == origin_of(settings().public_url)


@bp.before_request
def writes_only_from_the_page():
    if request.method in SAFE_METHODS or not request.path.startswith("/sidebar/api/"):
        return None
    if from_the_page():
        return None
    return error(403, "请求来源不受信任，请在侧边栏页面内操作")
