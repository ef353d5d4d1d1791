"""Signing in and out of the console (docs/console.md).

  GET  /console/login                   the sign-in page (a local administrator's form; a link to
                                        WeCom web login)
  POST /console/login                   username + password (+ csrf_token): rate-limited per
                                        username and per address; a session, then 302 to ``next``
  GET  /console/login/wecom?next=       302 to WeCom's web login page (login_type=CorpApp) with a
                                        single-use state bound to this browser
  GET  /console/login/wecom/callback    ?code=&state=: state checked, auth/getuserinfo, the member
                                        must be known and not have left; a session, 302 to ``next``
  POST /console/logout                  the session ends (its row is deleted); 302 to the sign-in page
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from console import bp
from console.auth import PRE_COOKIE, SESSION_COOKIE, cookie_flags, pre_value, safe_next
from scrm.config import settings
from scrm.schemas.console import PasswordLogin
from scrm.services.console import admins, sessions, throttle, wecom_login

log = logging.getLogger(__name__)

WRONG = "用户名或密码错误"
TOO_MANY = "尝试次数过多，请 {minutes} 分钟后再试"


def _form(status: int = 200, *, error: str | None = None, username: str = "", next_url: str | None = None):
    return render_template("console/login.html", error=error, username=username,
                           next_url=safe_next(next_url or request.args.get("next")),
                           sandbox=settings().sandbox), status


def _signed_in(token: str, next_url: str):
    response = redirect(safe_next(next_url))
    old = request.cookies.get(SESSION_COOKIE)
    if old and old != token:
        sessions.end(old)  # one session per browser: the one it signed in with before ends
    response.set_cookie(SESSION_COOKIE, token, max_age=settings().console_session_hours * 3600, **cookie_flags())
    return response


@bp.get("/login")
def login_form():
    if g.console is not None:
        return redirect(safe_next(request.args.get("next")))
    pre_value()  # the form's CSRF token is bound to this browser's pre-sign-in cookie
    return _form()


@bp.post("/login")
def login_password():
    next_url = request.form.get("next")
    try:
        data = PasswordLogin().load(request.form.to_dict())
    except ValidationError:
        return _form(422, error="请输入用户名和密码", username=request.form.get("username", "")[:64],
                     next_url=next_url)
    corp_id, ip = settings().wecom_corp_id, request.remote_addr
    minutes = throttle.blocked_minutes(corp_id, data["username"], ip)
    if minutes:
        log.info("console sign-in refused: too many failures")
        return _form(429, error=TOO_MANY.format(minutes=minutes), username=data["username"], next_url=next_url)
    admin_id = admins.authenticate(corp_id, data["username"], data["password"])
    if admin_id is None:
        throttle.record_failure(corp_id, data["username"], ip)
        log.info("console sign-in failed: wrong username or password")
        return _form(401, error=WRONG, username=data["username"], next_url=next_url)
    throttle.clear(corp_id, data["username"])
    token, _ = sessions.start_admin(corp_id, admin_id)
    log.info("console sign-in: administrator id=%s", admin_id)
    return _signed_in(token, next_url)


@bp.get("/login/wecom")
def wecom_start():
    cfg = settings()
    try:
        state = wecom_login.new_state(pre_value(), safe_next(request.args.get("next")))
    except wecom_login.LoginUnavailable:
        return _message(503, "暂时无法使用企业微信登录，请稍后重试。")
    query = urlencode([("login_type", "CorpApp"), ("appid", cfg.wecom_corp_id), ("agentid", cfg.wecom_agent_id),
                       ("redirect_uri", cfg.public_url + url_for("console.wecom_callback")), ("state", state),
                       ("lang", "zh")])
    return redirect(f"{cfg.wecom_login_url}?{query}")


@bp.get("/login/wecom/callback")
def wecom_callback():
    next_url = wecom_login.take_state(request.args.get("state"), request.cookies.get(PRE_COOKIE))
    if next_url is None:
        return _message(400, "登录请求已过期或无效，请重新登录。")
    code = request.args.get("code", "")
    if not code or len(code) > 512:
        return _message(400, "企业微信没有返回授权码，请重新登录。")
    corp_id = settings().wecom_corp_id
    outcome = wecom_login.member_for_code(corp_id, code)
    if outcome.userid is None:
        return _message(outcome.status, outcome.refusal or "登录失败，请重新登录。")
    token, _ = sessions.start_staff(corp_id, outcome.userid, outcome.version)
    log.info("console sign-in: userid=%s through WeCom", outcome.userid)
    return _signed_in(token, next_url)


@bp.post("/logout")
def logout():
    sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("console.login_form"))
    response.delete_cookie(SESSION_COOKIE, path=cookie_flags()["path"])
    return response


def _message(status: int, message: str):
    return render_template("console/message.html", title="登录失败", message=message,
                           link=url_for("console.login_form"), link_text="返回登录"), status
