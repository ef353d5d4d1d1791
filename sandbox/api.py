"""The simulated WeCom HTTP API: ``/cgi-bin/<path>``, as qyapi.weixin.qq.com answers it.

Every call: the configured latency (slept before taking the world lock), then under the lock
the per-corp-per-API rate limit (45009), the access_token check (41001 / 40014 / 42001; not for
gettoken), then the handler. The reply is HTTP 200 JSON with ``errcode``/``errmsg`` first, errors
included, as WeCom does; only an unknown path gets an HTTP 404 (with a JSON body). Every call is
recorded in the world's feed (path, parameters without credentials, body, errcode).

Bodies are read as JSON whatever the Content-Type (wechatpy sends none).
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from sandbox.endpoints import HANDLERS, Call
from sandbox.errors import ApiError, invalid
from sandbox.feed import shorten
from sandbox.world import World

bp = Blueprint("sandbox_wecom_api", __name__)
CREDENTIAL_PARAMS = ("access_token", "corpsecret")


def world() -> World:
    return current_app.extensions["sandbox_world"]


def _json(reply: dict, status: int = 200) -> Response:
    return Response(json.dumps(reply, ensure_ascii=False), status=status,
                    content_type="application/json; charset=UTF-8")


def _body() -> dict:
    if request.method != "POST" or request.mimetype == "multipart/form-data":
        return {}  # multipart: media/upload reads request.files
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise invalid("Warning: wrong json format.")
    return body


@bp.route("/cgi-bin/<path:path>", methods=["GET", "POST"])
def dispatch(path: str) -> Response:
    sim = world()
    sim.pause()
    params = {k: v for k, v in request.args.items() if k not in CREDENTIAL_PARAMS}
    endpoint = HANDLERS.get(path)
    if endpoint is None:
        reply, status = ApiError(40058, f"unknown API path /cgi-bin/{path}").reply(), 404
        sim.feed.add("api_call", method=request.method, path=path, params=params, body=None,
                     errcode=reply["errcode"])
        return _json(reply, status)
    body: dict | None = None
    try:
        body = _body()
        with sim.lock:
            sim.check_rate(path)
            if endpoint.auth:
                sim.check_token(request.args.get("access_token"))
            data = endpoint.fn(Call(sim, request.args, body, request.files))
        reply = {"errcode": 0, "errmsg": "ok", **data}
    except ApiError as exc:
        reply = exc.reply()
    sim.feed.add("api_call", method=request.method, path=path, params=params,
                 body=shorten(body) if body else None, errcode=reply["errcode"])
    return _json(reply)
