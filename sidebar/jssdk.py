"""JS-SDK signatures for ww.register (PROTOCOL.md §4.2).

  GET /sidebar/api/jssdk/signature?type=corp|agent&url=<page URL>
      → {"corpId","agentId","timestamp","nonceStr","signature"}

``type=corp`` signs with the corp jsapi_ticket (getConfigSignature), ``type=agent`` with the
app's (getAgentConfigSignature, needed by getCurExternalContact, sendChatMessage, …). Both
tickets are cached in Redis by WeComClient. Only URLs of this service are signed: the URL's
scheme + host must be PUBLIC_URL's, or its host the one this request came to.
"""
from __future__ import annotations

import secrets
import string
import time
from urllib.parse import urlsplit

from flask import g, jsonify, request

from scrm.config import settings
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError
from sidebar import bp
from sidebar.auth import error, require_staff

NONCE_ALPHABET = string.ascii_letters + string.digits


def _nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(16))


def _timestamp() -> int:
    return int(time.time())


def _own_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    public = urlsplit(settings().public_url)
    netloc = parts.netloc.lower()
    return (parts.scheme, netloc) == (public.scheme, public.netloc.lower()) or netloc == request.host.lower()


@bp.get("/api/jssdk/signature")
@require_staff
def jssdk_signature():
    kind = request.args.get("type", "")
    url = (request.args.get("url") or "").split("#", 1)[0]
    errors: dict[str, list[str]] = {}
    if kind not in ("corp", "agent"):
        errors["type"] = ["必须是 corp 或 agent"]
    if not url:
        errors["url"] = ["必填"]
    elif not _own_url(url):
        errors["url"] = ["只能为本服务的页面签名"]
    if errors:
        return error(422, "参数错误", errors=errors)
    client = wecom_client(g.staff.corp_id)
    try:
        ticket = client.get_agent_jsapi_ticket() if kind == "agent" else client.get_jsapi_ticket()
    except WeComError as exc:
        return error(502, f"企业微信接口错误：{exc.errmsg}", errcode=exc.errcode)
    nonce, timestamp = _nonce(), _timestamp()
    return jsonify(corpId=client.corp_id, agentId=client.agent_id, timestamp=timestamp, nonceStr=nonce,
                   signature=client.jsapi_signature(ticket, nonce, timestamp, url))
