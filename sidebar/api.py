"""The sidebar's customer and group views and edits (sidebar/CONTRACT.md). Thin: read the input
(sidebar/inputs.py), call scrm.services.sidebar_actions, map its outcomes to JSON answers."""
from __future__ import annotations

import functools
from datetime import datetime

from flask import g, jsonify, request

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


def _iso(value):
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


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
                response = jsonify(_iso(result))
                response.status_code = status
                return response
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
