"""The operators' pages (issue #14 part 3): 渠道活码, 欢迎语, 客户SOP, 流失与召回, 内容库.

Each is a shell (base.html) whose script lists, creates, edits and deletes through the Open API's
own resources under /console/api/v1/... (same schemas, so the forms show the API's 422 field
messages in place; static/console_crud.js). The bootstrap carries what the forms pick from
(staff members, corp tags). Console plumbing only here:

  GET /console/channels | welcome | sops | churn | library    the pages
  GET /console/api/channels/<id>/qr[?download=1]               a channel code's QR image, from
                                                               WeCom's URL, served from this origin
"""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request

from console import bp
from console.pages import _shell
from scrm.extensions import db
from scrm.models import Channel
from scrm.services.console import channel_qr
from scrm.services.console.operator_options import options
from scrm.services.validation import Invalid

PAGES = {"channels": "channels", "welcome": "welcome", "sops": "sops", "churn": "churn", "library": "library"}


def _page(slug: str):
    return _shell(f"console/{PAGES[slug]}.html", slug, page=PAGES[slug], options=options(g.console.corp_id))


@bp.get("/channels")
def channels_page():
    return _page("channels")


@bp.get("/welcome")
def welcome_page():
    return _page("welcome")


@bp.get("/sops")
def sops_page():
    return _page("sops")


@bp.get("/churn")
def churn_page():
    return _page("churn")


@bp.get("/library")
def library_page():
    return _page("library")


def _error(status: int, message: str):
    response = jsonify(code=status, message=message)
    response.status_code = status
    return response


@bp.get("/api/channels/<int:channel_id>/qr")
def channel_qr_image(channel_id: int):
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.corp_id != g.console.corp_id:
        abort(404)
    try:
        image = channel_qr.fetch(channel)
    except Invalid:
        return _error(404, "该活码没有二维码（小程序按钮或已删除）。")
    except channel_qr.QrUnavailable:
        return _error(502, "暂时无法从企业微信获取二维码图片，请稍后再试。")
    response = Response(image.data, mimetype=image.content_type)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="channel-{channel.id}-qr.{image.extension}"'
    return response
