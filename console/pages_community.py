"""The 群SOP, 社群运营 and 设置 pages (issue #14 part 3): shells whose scripts call the Open API's
resources at /console/api/v1/... (group SOPs, group codes, group welcome templates, corp tags,
group labels, funnel stages, custom fields).

  GET /console/group-sops                       群SOP: plans, the execution calendar, results
  GET /console/community                        社群运营: 群活码 and 入群欢迎语 tabs
  GET /console/settings                         设置: 企业标签, 客户群标签, 销售阶段, 自定义字段 tabs
  GET /console/api/group-codes/<id>/qr-code     a group code's QR image from our origin (the
                                                console's CSP allows no other image host);
                                                ?download=1 to save it
"""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request

from console import bp
from console.pages import _shell
from scrm.services.community import codes, qr

TABS = {
    "community": (("codes", "群活码"), ("welcome", "入群欢迎语")),
    "settings": (("tags", "企业标签"), ("labels", "客户群标签"), ("stages", "销售阶段"), ("fields", "自定义字段")),
}


def _tabbed(template: str, slug: str, page: str):
    tabs = [{"name": name, "title": title} for name, title in TABS[slug]]
    tab = request.args.get("tab")
    return _shell(template, slug, page=page, tabs=tabs, tab=tab if tab in dict(TABS[slug]) else tabs[0]["name"])


@bp.get("/group-sops")
def group_sops_page():
    return _shell("console/group_sops.html", "group-sops", page="group-sops")


@bp.get("/community")
def community_page():
    return _tabbed("console/community.html", "community", "community")


@bp.get("/settings")
def settings_page():
    return _tabbed("console/settings.html", "settings", "settings")


@bp.get("/api/group-codes/<int:code_id>/qr-code")
def group_code_qr(code_id: int):
    code = codes.get(g.console.corp_id, code_id)
    if code is None:
        abort(404)
    try:
        picture = qr.image(code)
    except qr.QrUnavailable as exc:
        return jsonify(code=502, message=f"二维码图片获取失败：{exc}"), 502
    response = Response(picture.content, mimetype=picture.mimetype)
    if request.args.get("download"):
        extension = picture.mimetype.split("/")[-1].split("+")[0].replace("jpeg", "jpg")
        response.headers["Content-Disposition"] = f'attachment; filename="group-code-{code.id}.{extension}"'
    return response
