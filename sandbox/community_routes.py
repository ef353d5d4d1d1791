"""The simulator's pages for group codes (群活码): the QR code image a join way's ``qr_code``
points at, and the join ways for the sandbox page (GET /sandbox/api/world/join-ways)."""
from __future__ import annotations

from html import escape

from flask import Blueprint, Response, abort, current_app, jsonify

bp = Blueprint("sandbox_community", __name__)


def _world():
    return current_app.extensions["sandbox_world"]


@bp.get("/sandbox/qr/join-way/<config_id>.svg")
def join_way_qr(config_id: str) -> Response:
    """A stand-in for WeCom's QR code image: a framed square naming the code (no real QR)."""
    world = _world()
    with world.lock:
        way = world.join_ways.get(config_id)
        if way is None:
            abort(404)
        label = escape(way["state"] or config_id[:12])
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
           '<rect width="240" height="240" fill="#fff" stroke="#07c160" stroke-width="8"/>'
           '<rect x="24" y="24" width="48" height="48" fill="#222"/>'
           '<rect x="168" y="24" width="48" height="48" fill="#222"/>'
           '<rect x="24" y="168" width="48" height="48" fill="#222"/>'
           '<text x="120" y="118" font-size="18" text-anchor="middle">群活码</text>'
           f'<text x="120" y="144" font-size="12" text-anchor="middle">{label}</text></svg>')
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/sandbox/qr/contact-way/<config_id>.svg")
def contact_way_qr(config_id: str) -> Response:
    """A channel code's (「联系我」) stand-in QR code image, as for join ways."""
    world = _world()
    with world.lock:
        way = world.contact_ways.get(config_id)
        if way is None:
            abort(404)
        label = escape(way.settings.get("state") or config_id[:12])
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
           '<rect width="240" height="240" fill="#fff" stroke="#409eff" stroke-width="8"/>'
           '<rect x="24" y="24" width="48" height="48" fill="#222"/>'
           '<rect x="168" y="24" width="48" height="48" fill="#222"/>'
           '<rect x="24" y="168" width="48" height="48" fill="#222"/>'
           '<text x="120" y="118" font-size="18" text-anchor="middle">渠道活码</text>'
           f'<text x="120" y="144" font-size="12" text-anchor="middle">{label}</text></svg>')
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/sandbox/api/world/join-ways")
def join_ways():
    world = _world()
    with world.lock:
        ways = []
        for way in world.join_ways.values():
            groups = [world.groups[c] for c in way["chat_id_list"] if c in world.groups]
            ways.append({**way, "chat_id_list": list(way["chat_id_list"]),
                         "groups": [{"chat_id": g.chat_id, "name": g.name, "members": len(g.members)}
                                    for g in groups]})
    return jsonify(join_ways=ways)
