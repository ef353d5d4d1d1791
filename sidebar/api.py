"""The sidebar's customer and group views and edits (sidebar/CONTRACT.md). Thin: parse, call
scrm.services.profile, map its outcomes to JSON answers."""
from __future__ import annotations

import functools
from datetime import UTC, datetime

from flask import g, jsonify, request

from scrm.clock import iso_z
from scrm.extensions import db
from scrm.services import profile
from scrm.services.localtime import zone
from scrm.services.validation import Invalid
from scrm.wecom import WeComError
from sidebar import bp
from sidebar.auth import error, require_staff

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
    """Run the view with the session's staff; map service outcomes to the contract's errors."""

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
                db.session.rollback()
                return error(403, FORBIDDEN[what])
            except profile.NotSynced:
                db.session.rollback()
                return error(404, NOT_SYNCED[what], synced=False)
            except Invalid as exc:
                db.session.rollback()
                return error(422, "输入有误，请检查", errors=exc.errors)
            except WeComError as exc:
                db.session.rollback()
                return error(502, f"企业微信接口错误：{exc.errmsg or exc}", errcode=exc.errcode)

        return wrapped

    return decorate


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid({"json": ["请求体应为 JSON 对象"]})
    return data


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, default, type=int)
    return min(max(value, low), high)


def _ids(data: dict, key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid({key: ["应为标签 id 列表"]})
    return value


def parse_local_time(value) -> datetime | None:
    """ISO-8601 → naive UTC; a time without an offset is the corp's local time (what staff type)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid({"next_at": ["时间格式不正确"]})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid({"next_at": ["时间格式不正确"]}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone())
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _ip() -> str | None:
    return request.remote_addr


# ---- customers ------------------------------------------------------------------------------

@bp.get("/api/customers/<external_userid>")
@answers("customer")
def customer(external_userid: str):
    return profile.customer_view(g.staff.corp_id, g.staff.userid, external_userid,
                                 timeline_limit=_int_arg("timeline_limit", 20, 1, 100), ip=_ip())


@bp.post("/api/customers/<external_userid>/fetch")
@answers("customer")
def fetch_customer(external_userid: str):
    profile.fetch_now(g.staff.corp_id, g.staff.userid, external_userid)
    return profile.customer_view(g.staff.corp_id, g.staff.userid, external_userid, ip=_ip())


@bp.get("/api/customers/<external_userid>/timeline")
@answers("customer")
def customer_timeline(external_userid: str):
    profile.check_customer(g.staff.corp_id, g.staff.userid, external_userid)
    return profile.timeline_page(g.staff.corp_id, external_userid, before=request.args.get("before", type=int),
                                 limit=_int_arg("limit", 20, 1, 100))


@bp.put("/api/customers/<external_userid>/tags")
@answers("customer")
def customer_tags(external_userid: str):
    data = _body()
    return profile.set_tags(g.staff.corp_id, g.staff.userid, external_userid, _ids(data, "add"),
                            _ids(data, "remove"), ip=_ip())


@bp.put("/api/customers/<external_userid>/stage")
@answers("customer")
def customer_stage(external_userid: str):
    stage_id = _body().get("stage_id")
    if stage_id is not None and (not isinstance(stage_id, int) or isinstance(stage_id, bool)):
        raise Invalid({"stage_id": ["应为阶段 id"]})
    return profile.set_stage(g.staff.corp_id, g.staff.userid, external_userid, stage_id, ip=_ip())


@bp.put("/api/customers/<external_userid>/fields")
@answers("customer")
def customer_fields(external_userid: str):
    values = _body().get("values")
    if not isinstance(values, dict):
        raise Invalid({"values": ["应为 {字段: 值} 对象"]})
    return profile.set_fields(g.staff.corp_id, g.staff.userid, external_userid, values, ip=_ip())


@bp.put("/api/customers/<external_userid>/remark")
@answers("customer")
def customer_remark(external_userid: str):
    return profile.set_remark(g.staff.corp_id, g.staff.userid, external_userid, _body(), ip=_ip())


@bp.get("/api/customers/<external_userid>/follow-ups")
@answers("customer")
def customer_follow_ups(external_userid: str):
    profile.check_customer(g.staff.corp_id, g.staff.userid, external_userid)
    return profile.follow_ups(g.staff.corp_id, external_userid, page=_int_arg("page", 1, 1, 10_000),
                              page_size=_int_arg("page_size", 20, 1, 100))


@bp.post("/api/customers/<external_userid>/follow-ups")
@answers("customer")
def add_follow_up(external_userid: str):
    data = _body()
    kind, content = data.get("kind"), data.get("content")
    if not isinstance(content, str):
        raise Invalid({"content": ["请填写跟进内容"]})
    kind = kind if isinstance(kind, str) else ""
    return profile.add_follow_up(g.staff.corp_id, g.staff.userid, external_userid, kind, content,
                                 parse_local_time(data.get("next_at")), ip=_ip()), 201


# ---- groups ---------------------------------------------------------------------------------

@bp.get("/api/groups/<chat_id>")
@answers("group")
def group(chat_id: str):
    return profile.group_view(g.staff.corp_id, g.staff.userid, chat_id, ip=_ip())
