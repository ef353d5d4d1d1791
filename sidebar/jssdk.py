"""JS-SDK signatures for ww.register (docs/wecom/sidebar.md#js-sdk-signature).

  GET /sidebar/api/jssdk/signature?type=corp|agent&url=<page URL>
      → {"corpId","agentId","timestamp","nonceStr","signature"}

``type=corp`` signs with the corp jsapi_ticket (getConfigSignature), ``type=agent`` with the
app's (getAgentConfigSignature, needed by getCurExternalContact, sendChatMessage, …). Both
tickets are cached in Redis by WeCom's client. Only pages of this service are signed: the URL's
origin (scheme, host and port) must be SCRM_PUBLIC_URL's, the one origin the WeCom app trusts
(its 可信域名); any other is 422.
"""
from __future__ import annotations

import secrets
import string
import time

from flask import g, jsonify, request

from scrm.config import settings
from scrm.schemas.sidebar_requests import JssdkArgsSchema
from scrm.services.corps import wecom_client
from scrm.services.validation import Invalid
from scrm.wecom import WeComError
from sidebar import bp
from sidebar.auth import error, origin_of, require_staff
from sidebar.inputs import load

NONCE_ALPHABET = string.ascii_letters + string.digits


def _nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(16))


def _timestamp() -> int:
    return int(time.time())


@bp.get("/api/jssdk/signature")
@require_staff
def jssdk_signature():
    try:
        query = load(JssdkArgsSchema(origin=origin_of(settings().public_url)), request.args)
    except Invalid as exc:
        return error(422, "参数错误", errors=exc.errors)
    client = wecom_client(g.staff.corp_id)
    try:
        ticket = client.get_agent_jsapi_ticket() if query["type"] == "agent" else client.get_jsapi_ticket()
    except WeComError as exc:
        return error(502, f"企业微信接口错误：{exc.errmsg}", errcode=exc.errcode)
    nonce, timestamp = _nonce(), _timestamp()
    return jsonify(corpId=client.corp_id, agentId=client.agent_id, timestamp=timestamp, nonceStr=nonce,
                   signature=client.jsapi_signature(ticket, nonce, timestamp, query["url"]))
