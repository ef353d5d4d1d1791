"""The simulator's endpoints for churn play (sandbox/churn_actions.py):

  GET /sandbox/api/clock         the corp's clock: {"now" (epoch s), "offset_seconds", "offset_days",
                                 "local" ("YYYY-MM-DD HH:MM", China time)}
  GET /sandbox/api/chat-archive?seq=N&limit=L
                                 the chat archive after seq N (default 0), at most L (1..1000,
                                 default 1000), decrypted: {"errcode": 0, "errmsg": "ok",
                                 "chatdata": [{seq, msgid, action, from, tolist, roomid, msgtime,
                                 msgtype, text}]} (GetChatData + DecryptData, sandbox/chat_archive.py);
                                 a bad seq or limit → 400 {"errcode": 10000} (the SDK's 参数错误)
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from sandbox.chat_archive import MAX_PULL
from sandbox.churn_actions import simulated_time

bp = Blueprint("sandbox_churn", __name__)


def _world():
    return current_app.extensions["sandbox_world"]


@bp.get("/sandbox/api/clock")
def clock():
    world = _world()
    with world.lock:
        return jsonify(simulated_time(world))


@bp.get("/sandbox/api/chat-archive")
def chat_archive():
    try:
        seq = int(request.args.get("seq", 0))
        limit = int(request.args.get("limit", MAX_PULL))
    except ValueError:
        return jsonify(errcode=10000, errmsg="seq and limit must be integers"), 400
    if seq < 0 or not 1 <= limit <= MAX_PULL:
        return jsonify(errcode=10000, errmsg=f"seq >= 0, limit 1..{MAX_PULL}"), 400
    world = _world()
    with world.lock:
        items = world.chat_archive.after(seq, limit)
    return jsonify(errcode=0, errmsg="ok", chatdata=items)
