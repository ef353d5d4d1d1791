"""The sidebar's staff session: who is using the sidebar, established by OAuth (oauth.py).

The identity lives in Flask's signed session cookie (SECRET_KEY) as
``session["sidebar"] = {"corp_id": ..., "userid": ..., "exp": <unix seconds>}``; OAuth runs
again only when it is missing or expired. Every JSON endpoint is wrapped in ``require_staff``.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from flask import g, jsonify, session, url_for

from scrm.config import settings

SESSION_KEY = "sidebar"


@dataclass(frozen=True)
class StaffIdentity:
    corp_id: str
    userid: str


def login_session(corp_id: str, userid: str) -> None:
    """Start (or renew) the staff session."""
    hours = settings().sidebar_session_hours
    session[SESSION_KEY] = {"corp_id": corp_id, "userid": userid, "exp": int(time.time() + hours * 3600)}
    session.permanent = True


def current_staff() -> StaffIdentity | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not data.get("userid") or not data.get("corp_id"):
        return None
    if not isinstance(data.get("exp"), int) or data["exp"] < time.time():
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
