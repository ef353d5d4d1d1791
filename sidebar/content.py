"""The content library (话术/素材), SOP reminder tasks, recall tasks and group SOP reminders in the
sidebar (sidebar/CONTRACT.md): list and search what to send, each item with its
``ww.sendChatMessage`` argument; count, audit and time-line a send. Texts go out as-is: the page
inserts them as text, never as HTML."""
from __future__ import annotations

from flask import Response, g, jsonify, request

from scrm.schemas import sidebar_requests as schemas
from scrm.services import library
from scrm.services import sidebar_actions as actions
from scrm.services import sidebar_group_sop as group_sop
from sidebar import bp
from sidebar.auth import error, require_staff
from sidebar.inputs import ID, args, body

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")  # never text/html
CONTENT_GONE = "内容不存在或已删除"


@bp.get("/api/contents")
@require_staff
def list_contents():
    filters = args(schemas.ContentArgsSchema())
    return jsonify(actions.contents(g.staff.corp_id, g.staff.userid, **filters))


@bp.post(f"/api/contents/<{ID}:content_id>/sent")
@require_staff
def content_sent(content_id: int):
    target = body(schemas.ContentSentBodySchema(), optional=True)
    try:
        return jsonify(actions.content_sent(g.staff.corp_id, g.staff.userid, content_id, **target,
                                            ip=request.remote_addr))
    except actions.NotFound:
        return error(404, CONTENT_GONE)


def _task_answer(use_case, task_id: int, **kwargs):
    """The task use case's answer, or the 404/403 that leaks nothing about another's task."""
    try:
        return jsonify(use_case(g.staff.corp_id, g.staff.userid, task_id, **kwargs))
    except actions.NotFound:
        return error(404, "任务不存在")
    except actions.NotYours:
        return error(403, "无权查看该任务")


@bp.get(f"/api/sop-tasks/<{ID}:task_id>")
@require_staff
def sop_task(task_id: int):
    return _task_answer(actions.sop_task, task_id)


@bp.post(f"/api/sop-tasks/<{ID}:task_id>/sent")
@require_staff
def sop_task_sent(task_id: int):
    return _task_answer(actions.sop_task_sent, task_id, ip=request.remote_addr)


@bp.get("/api/sop-tasks")
@require_staff
def sop_tasks():
    external_userid = args(schemas.SopTasksArgsSchema())["external_userid"]
    return jsonify(actions.pending_reminders(g.staff.corp_id, g.staff.userid, external_userid))


@bp.get(f"/api/recalls/<{ID}:recall_id>")
@require_staff
def recall(recall_id: int):
    return _task_answer(actions.recall, recall_id)


@bp.post(f"/api/recalls/<{ID}:recall_id>/sent")
@require_staff
def recall_sent(recall_id: int):
    return _task_answer(actions.recall_sent, recall_id, ip=request.remote_addr)


@bp.get(f"/api/group-sop-executions/<{ID}:execution_id>")
@require_staff
def group_sop_execution(execution_id: int):
    return _execution_answer(group_sop.execution, execution_id)


@bp.post(f"/api/group-sop-executions/<{ID}:execution_id>/sent")
@require_staff
def group_sop_execution_sent(execution_id: int):
    return _execution_answer(group_sop.execution_sent, execution_id, ip=request.remote_addr)


def _execution_answer(use_case, execution_id: int, **kwargs):
    """A group SOP reminder for the group's current owner; others the 403 of a customer SOP task."""
    try:
        return jsonify(use_case(g.staff.corp_id, g.staff.userid, execution_id, **kwargs))
    except group_sop.NotFound:
        return error(404, "任务不存在")
    except group_sop.NotYours:
        return error(403, "无权查看该任务")
    except group_sop.Closed:
        return error(409, "该提醒已失效，无需再发送")


@bp.get("/media/<token>")
def media(token: str):
    """Mini-program covers (imgUrl must be a URL): the image behind a signed token, no session
    (the WeCom client fetches it). The token expires, and dies with the item that sent it
    (scrm/services/library.py)."""
    asset = library.media_asset(token)
    if asset is None:
        return error(404, "图片不存在")
    mimetype = asset.content_type if asset.content_type in IMAGE_TYPES else "application/octet-stream"
    return Response(asset.data, mimetype=mimetype)
