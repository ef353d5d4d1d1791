"""The sidebar's customer and group views and edits (sidebar/CONTRACT.md). Thin: read the input
(sidebar/inputs.py), call scrm.services.sidebar_actions, map its outcomes to JSON answers."""
from __future__ import annotations

import functools
import json
from datetime import datetime

from flask import current_app, g, request
from flask.json.provider import DefaultJSONProvider

from scrm.clock import iso_z
from scrm.schemas import sidebar_requests as schemas
from scrm.services import profile
from scrm.services import sidebar_actions as actions
from scrm.wecom import WeComError
from sidebar import bp
from sidebar.auth import error, require_staff
from sidebar.inputs import args, body

NOT_SYNCED = {"customer": "客户尚未同步", "group": "群聊尚未同步"}
FORBIDDEN = {"customer": "无权查看该客户", "group": "无权查看该群聊"}


def _default(value):
    """Times as the contract writes them; the rest as Flask would."""
    if isinstance(value, datetime):
        return iso_z(value)
    return DefaultJSONProvider.default(value)


def json_response(result, status: int = 200):
    """The answer's JSON, built in one pass of the C encoder (UTF-8, unsorted, compact: the
    profile is the sidebar's hot read, bench/sidebar.py)."""
    text = json.dumps(result, default=_default, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, status=status, mimetype="application/json")


def answers(what: str):
    """Run the view with the session's staff; map service outcomes to the contract's errors
    (invalid input: sidebar/inputs.py)."""

    def decorate(view):
        @require_staff
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            try:
                result, status = view(*args, **kwargs), 200
                if isinstance(result, tuple):
                    result, status = result
                return json_response(result, status)
            except profile.Forbidden:
                return error(403, FORBIDDEN[what])
            except profile.NotSynced:
                return error(404, NOT_SYNCED[what], synced=False)
            except WeComError as exc:
                return error(502, f"企业微信接口错误：{exc.errmsg or exc}", errcode=exc.errcode)

        return wrapped

    return decorate


def _ip() -> str | None:
    return request.remote_addr


# ---- customers ------------------------------------------------------------------------------

@bp.get("/api/customers/<external_userid>")
@answers("customer")
def customer(external_userid: str):
    limit = args(schemas.CustomerViewArgsSchema())["timeline_limit"]
    return actions.customer_view(g.staff.corp_id, g.staff.userid, external_userid, timeline_limit=limit, ip=_ip())


@bp.get("/api/tag-library")
@require_staff
def tag_library():
    """The corp tag library, the same for every customer: fetched once by the page and revalidated
    with its ETag (304 while unchanged); the profile's ``tags.library_version`` names it."""
    version, body = actions.tag_library(g.staff.corp_id)
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(version)  # (no-store still: sidebar.js keeps it for the page)
    return response.make_conditional(request)


@bp.post("/api/customers/<external_userid>/fetch")
@answers("customer")
def fetch_customer(external_userid: str):
    return actions.fetch_customer(g.staff.corp_id, g.staff.userid, external_userid, ip=_ip())


@bp.get("/api/customers/<external_userid>/timeline")
@answers("customer")
def customer_timeline(external_userid: str):
    page = args(schemas.TimelineArgsSchema())
    return actions.customer_timeline(g.staff.corp_id, g.staff.userid, external_userid, **page)


@bp.put("/api/customers/<external_userid>/tags")
@answers("customer")
def customer_tags(external_userid: str):
    data = body(schemas.TagsBodySchema())
    return actions.set_tags(g.staff.corp_id, g.staff.userid, external_userid, data["add"], data["remove"], ip=_ip())


@bp.put("/api/customers/<external_userid>/stage")
@answers("customer")
def customer_stage(external_userid: str):
    stage_id = body(schemas.StageBodySchema())["stage_id"]
    return actions.set_stage(g.staff.corp_id, g.staff.userid, external_userid, stage_id, ip=_ip())


@bp.put("/api/customers/<external_userid>/fields")
@answers("customer")
def customer_fields(external_userid: str):
    values = body(schemas.FieldsBodySchema())["values"]
    return actions.set_fields(g.staff.corp_id, g.staff.userid, external_userid, values, ip=_ip())


@bp.put("/api/customers/<external_userid>/remark")
@answers("customer")
def customer_remark(external_userid: str):
    changes = body(schemas.RemarkBodySchema())
    return actions.set_remark(g.staff.corp_id, g.staff.userid, external_userid, changes, ip=_ip())


@bp.get("/api/customers/<external_userid>/follow-ups")
@answers("customer")
def customer_follow_ups(external_userid: str):
    page = args(schemas.FollowUpPageArgsSchema())
    return actions.follow_ups(g.staff.corp_id, g.staff.userid, external_userid, **page)


@bp.post("/api/customers/<external_userid>/follow-ups")
@answers("customer")
def add_follow_up(external_userid: str):
    data = body(schemas.FollowUpBodySchema())
    return actions.add_follow_up(g.staff.corp_id, g.staff.userid, external_userid, **data, ip=_ip()), 201


# ---- groups ---------------------------------------------------------------------------------

@bp.get("/api/groups/<chat_id>")
@answers("group")
def group(chat_id: str):
    return actions.group_view(g.staff.corp_id, g.staff.userid, chat_id, ip=_ip())
