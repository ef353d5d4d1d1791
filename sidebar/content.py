"""The content library (话术/素材) and SOP reminder tasks in the sidebar (sidebar/CONTRACT.md):
list and search what to send, each item with its ``ww.sendChatMessage`` argument; count, audit
and time-line a send. Texts go out as-is: the page inserts them as text, never as HTML."""
from __future__ import annotations

from flask import Response, g, jsonify, request
from sqlalchemy import func, select

from scrm.clock import iso_z
from scrm.extensions import db
from scrm.models import ContentKind, SopTask
from scrm.services import library
from sidebar import bp
from sidebar.auth import error, require_staff

PAGE_SIZE = 20
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")  # never text/html
LIMITS = {"q": 64, "category": 32, "external_userid": 64, "chat_id": 64}


def _invalid(errors: dict[str, list[str]]):
    return error(422, "输入有误，请检查", errors=errors)


def _strings(source: dict, *names: str) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    values, errors = {}, {}
    for name in names:
        value = source.get(name)
        if value in (None, ""):
            values[name] = None
        elif not isinstance(value, str) or len(value) > LIMITS[name]:
            errors[name] = [f"应为不超过 {LIMITS[name]} 个字符的文本"]
        else:
            values[name] = value
    return values, errors


@bp.get("/api/contents")
@require_staff
def list_contents():
    args, errors = _strings(request.args, "q", "category", "external_userid")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in set(ContentKind):
        errors["kind"] = ["应为 text、image、link 或 miniprogram"]
    page = request.args.get("page", 1, type=int)
    if page < 1:
        errors["page"] = ["应为不小于 1 的整数"]
    if errors:
        return _invalid(errors)
    corp_id = g.staff.corp_id
    query = library.search(corp_id, args["q"], args["category"], kind)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return jsonify(categories=library.categories(corp_id, args["q"], kind),
                   items=library.sidebar_items(corp_id, g.staff.userid, items, args["external_userid"]),
                   total=total, page=page, page_size=PAGE_SIZE)


@bp.post("/api/contents/<int:content_id>/sent")
@require_staff
def content_sent(content_id: int):
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return _invalid({"json": ["请求体应为 JSON 对象"]})
    target, errors = _strings(body, "external_userid", "chat_id")
    if errors:
        return _invalid(errors)
    item = library.get(g.staff.corp_id, content_id)
    if item is None:
        return error(404, "内容不存在或已删除")
    use_count = library.record_sent(item, g.staff.userid, ip=request.remote_addr, **target)
    return jsonify(id=item.id, use_count=use_count)


def _own_task(task_id: int):
    """The task when it is this staff member's; otherwise the 404/403 answer (nothing leaks)."""
    task = db.session.get(SopTask, task_id)
    if task is None or task.corp_id != g.staff.corp_id:
        return None, error(404, "任务不存在")
    if task.userid != g.staff.userid:
        return None, error(403, "无权查看该任务")
    return task, None


@bp.get("/api/sop-tasks/<int:task_id>")
@require_staff
def sop_task(task_id: int):
    task, denied = _own_task(task_id)
    return denied or jsonify(library.task_view(task))


@bp.post("/api/sop-tasks/<int:task_id>/sent")
@require_staff
def sop_task_sent(task_id: int):
    task, denied = _own_task(task_id)
    if denied:
        return denied
    task = library.record_task_sent(task, ip=request.remote_addr)
    return jsonify(id=task.id, sent_from_sidebar_at=iso_z(task.sent_from_sidebar_at))


@bp.get("/api/sop-tasks")
@require_staff
def sop_tasks():
    args, errors = _strings(request.args, "external_userid")
    if errors or not args["external_userid"]:
        return _invalid(errors or {"external_userid": ["必填"]})
    return jsonify(items=library.pending_reminders(g.staff.corp_id, g.staff.userid, args["external_userid"]))


@bp.get("/media/<token>")
def media(token: str):
    """Mini-program covers (imgUrl must be a URL): the image behind a signed token, no session
    (the WeCom client fetches it)."""
    asset = library.media_asset(token)
    if asset is None:
        return error(404, "图片不存在")
    mimetype = asset.content_type if asset.content_type in IMAGE_TYPES else "application/octet-stream"
    return Response(asset.data, mimetype=mimetype)
