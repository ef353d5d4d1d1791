"""WeCom web login for the console (企业微信Web登录, PROTOCOL.md §4.5, docs/console.md).

  1. ``new_state``: a random state (32 letters and digits), stored in Redis for STATE_TTL
     seconds with the SHA-256 of a value bound to the browser (the console's pre-sign-in cookie);
  2. the browser goes to WeCom's login page (login_type=CorpApp) and comes back with code+state;
  3. ``take_state``: the state is taken (GETDEL: single use) and must have been issued to this
     browser; ``member_for_code`` exchanges the code with auth/getuserinfo and maps the userid to
     a member of the corp who may sign in: known to us (the staff sync), not left, not disabled.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import string
from dataclasses import dataclass

import redis as redis_lib
from sqlalchemy import select

from scrm.extensions import db, redis_store
from scrm.models import Staff
from scrm.services.corps import wecom_client
from scrm.services.sidebar_session import INACTIVE_STATUSES
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

STATE_TTL = 600  # s; WeCom's code itself lives 5 minutes
STATE_ALPHABET = string.ascii_letters + string.digits
STATE_PATTERN = re.compile(r"[A-Za-z0-9]{32}")
KEY = "scrm:console:wecom-state:{}"


class LoginUnavailable(RuntimeError):
    """Redis could not hold the state: the login cannot start now."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a code: ``userid`` and ``version`` when the member may sign in, else a
    Chinese ``refusal`` and the HTTP status to show it with."""

    userid: str | None = None
    version: int = 0
    refusal: str | None = None
    status: int = 200


def _digest(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def new_state(binding: str, next_url: str) -> str:
    """A fresh state for the browser holding ``binding``, which goes to ``next_url`` once signed in."""
    state = "".join(secrets.choice(STATE_ALPHABET) for _ in range(32))
    value = json.dumps({"browser": _digest(binding), "next": next_url})
    try:
        redis_store.client.set(KEY.format(state), value, ex=STATE_TTL, nx=True)
    except redis_lib.RedisError as exc:
        raise LoginUnavailable(type(exc).__name__) from exc
    return state


def take_state(state: str | None, binding: str | None) -> str | None:
    """The ``next_url`` of ``state`` when it was issued to the browser holding ``binding`` and not
    used yet (it is used now, whatever the answer); else None."""
    if not state or not binding or not STATE_PATTERN.fullmatch(state):
        return None
    try:
        stored = redis_store.client.getdel(KEY.format(state))
    except redis_lib.RedisError as exc:
        log.warning("console wecom login: state store unavailable: %s", type(exc).__name__)
        return None
    if stored is None:
        return None
    flow = json.loads(stored)
    if not hmac.compare_digest(flow["browser"], _digest(binding)):
        return None
    return flow["next"]


def member_for_code(corp_id: str, code: str) -> SignIn:
    """auth/getuserinfo for ``code``, then the member's row. Reads only."""
    try:
        reply = wecom_client(corp_id).auth_getuserinfo(code)
    except WeComError as exc:
        log.warning("console wecom login: auth/getuserinfo failed errcode=%s", exc.errcode)
        if exc.retryable or exc.errcode is None:
            return SignIn(refusal="暂时无法连接企业微信，请稍后重试。", status=502)
        return SignIn(refusal=f"企业微信拒绝了本次登录（错误码 {exc.errcode}），请重新登录。", status=400)
    userid = reply.get("userid") or reply.get("UserId")
    if not userid:
        return SignIn(refusal="管理后台仅供本企业成员使用，你不是本企业的成员。", status=403)
    row = db.session.execute(select(Staff.left_at, Staff.status, Staff.session_version).where(
        Staff.corp_id == corp_id, Staff.userid == userid)).first()
    if row is None:
        log.info("console wecom login: userid=%s not synced yet", userid)
        return SignIn(refusal="你的账号尚未同步到 SCRM，请联系管理员同步通讯录后再登录。", status=403)
    left_at, status, version = row
    if left_at is not None or status in INACTIVE_STATUSES:
        log.info("console wecom login: userid=%s has left or is disabled", userid)
        return SignIn(refusal="你的账号已停用或已离职，无法登录管理后台。", status=403)
    return SignIn(userid=userid, version=version or 0)
