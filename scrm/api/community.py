"""Group welcome templates (/api/v1/group-welcome-templates) and group codes (/api/v1/group-codes)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask_smorest.pagination import PaginationParameters
from werkzeug.exceptions import Conflict, ServiceUnavailable

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import GroupCode
from scrm.schemas.community import (
    GroupCodeInSchema,
    GroupCodeListArgsSchema,
    GroupCodePatchSchema,
    GroupCodeSchema,
    GroupCodeStatsArgsSchema,
    GroupCodeStatsSchema,
    GroupWelcomeListArgsSchema,
    GroupWelcomeTemplateInSchema,
    GroupWelcomeTemplatePatchSchema,
    GroupWelcomeTemplateSchema,
    RefreshResultSchema,
)
from scrm.services.community import code_stats, codes
from scrm.services.community import welcome as templates
from scrm.services.community.common import LimitReached
from scrm.wecom import WeComError

blp = make_blueprint("community", __name__, "/api/v1", "Group welcome templates (入群欢迎语) and group codes "
                     "(群活码): kept in WeCom, with our copy.")
RETRY_AFTER = 5  # s, when WeCom is busy


@contextmanager
def wecom_errors() -> Iterator[None]:
    """service_errors() plus: a WeCom limit → 409 naming the errcode; WeCom busy (a retryable
    errcode) → 503 with Retry-After. Nothing was changed in either case."""
    with service_errors():
        try:
            yield
        except LimitReached as exc:
            db.session.rollback()
            raise Conflict(str(exc)) from None
        except WeComError as exc:
            if not exc.retryable:
                raise
            db.session.rollback()
            raise ServiceUnavailable(f"WeCom is busy (errcode {exc.errcode}); nothing was changed, try again.",
                                     retry_after=RETRY_AFTER) from None


# ---- group welcome templates -------------------------------------------------------------------

WELCOME = "group welcome template"


@blp.route("/group-welcome-templates")
@blp.arguments(GroupWelcomeListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupWelcomeTemplateSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_welcome_templates(pagination_parameters: PaginationParameters, include_deleted: bool) -> list:
    """List group welcome templates"""
    return page_of(templates.list_query(current_corp_id(), include_deleted), pagination_parameters)


@blp.route("/group-welcome-templates", methods=["POST"])
@blp.arguments(GroupWelcomeTemplateInSchema)
@blp.response(201, GroupWelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_welcome_template(data: dict[str, Any]):
    """Create a group welcome template

    Created in WeCom (`group_welcome_template/add`) first, then saved here. WeCom holds at most
    100 per corp: beyond that 409 (errcode 41055). WeCom refusing → 502; WeCom busy → 503.
    """
    with wecom_errors():
        return templates.create(current_corp_id(), data)


@blp.route("/group-welcome-templates/<int:template_id>")
@blp.response(200, GroupWelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_welcome_template(template_id: int):
    """Get a group welcome template"""
    return found(templates.get(current_corp_id(), template_id), WELCOME)


@blp.route("/group-welcome-templates/<int:template_id>", methods=["PATCH"])
@blp.arguments(GroupWelcomeTemplatePatchSchema(partial=True))
@blp.response(200, GroupWelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_welcome_template(data: dict[str, Any], template_id: int):
    """Change a group welcome template (`group_welcome_template/edit`; only the fields given)"""
    template = found(templates.get(current_corp_id(), template_id), WELCOME)
    with wecom_errors():
        return templates.update(template, data)


@blp.route("/group-welcome-templates/<int:template_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_welcome_template(template_id: int) -> None:
    """Delete a group welcome template (`group_welcome_template/del`; our copy is kept, deleted)"""
    template = found(templates.get(current_corp_id(), template_id), WELCOME)
    with wecom_errors():
        templates.delete(template)


@blp.route("/group-welcome-templates/refresh", methods=["POST"])
@blp.response(200, RefreshResultSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def refresh_welcome_templates() -> dict[str, int]:
    """Bring every active group welcome template in step with WeCom

    One `group_welcome_template/get` per template: `checked` templates, of which `deleted`
    were gone from WeCom (now `deleted` here too).
    """
    with wecom_errors():
        return templates.refresh_all(current_corp_id())


@blp.route("/group-welcome-templates/<int:template_id>/refresh", methods=["POST"])
@blp.response(200, GroupWelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def refresh_welcome_template(template_id: int):
    """Bring our copy in step with WeCom (`group_welcome_template/get`)

    Text and attachment are taken from WeCom; a template WeCom no longer knows becomes `deleted`.
    """
    template = found(templates.get(current_corp_id(), template_id), WELCOME)
    with wecom_errors():
        return templates.refresh(template)


# ---- group codes -------------------------------------------------------------------------------

CODE = "group code"


def _codes_out(rows: list[GroupCode]) -> list[dict[str, Any]]:
    chats = codes.chats_of([row.id for row in rows])
    return [row_dict(row, chats=chats[row.id]) for row in rows]


@blp.route("/group-codes")
@blp.arguments(GroupCodeListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupCodeSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_group_codes(pagination_parameters: PaginationParameters, include_deleted: bool) -> list:
    """List group codes (with their groups)"""
    return _codes_out(page_of(codes.list_query(current_corp_id(), include_deleted), pagination_parameters))


@blp.route("/group-codes", methods=["POST"])
@blp.arguments(GroupCodeInSchema)
@blp.response(201, GroupCodeSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_group_code(data: dict[str, Any]) -> dict[str, Any]:
    """Create a group code (群活码)

    `groupchat/add_join_way` over 1–5 of the corp's active groups, then `get_join_way` for the
    QR code. Members who join through it carry its `state`: see `/stats`. With
    `auto_create_room`, rooms WeCom opens when the groups are full are added to `chats`
    (source `auto_created`) as their first event arrives.
    """
    with wecom_errors():
        return _codes_out([codes.create(current_corp_id(), data)])[0]


@blp.route("/group-codes/<int:code_id>")
@blp.response(200, GroupCodeSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_group_code(code_id: int) -> dict[str, Any]:
    """Get a group code"""
    return _codes_out([found(codes.get(current_corp_id(), code_id), CODE)])[0]


@blp.route("/group-codes/<int:code_id>", methods=["PATCH"])
@blp.arguments(GroupCodePatchSchema)
@blp.response(200, GroupCodeSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_group_code(data: dict[str, Any], code_id: int) -> dict[str, Any]:
    """Change a group code (`update_join_way`; only the fields given; `chat_ids` replaces the list)"""
    code = found(codes.get(current_corp_id(), code_id), CODE)
    with wecom_errors():
        return _codes_out([codes.update(code, data)])[0]


@blp.route("/group-codes/<int:code_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_group_code(code_id: int) -> None:
    """Delete a group code (`del_join_way`; kept here, deleted, for its attribution)"""
    code = found(codes.get(current_corp_id(), code_id), CODE)
    with wecom_errors():
        codes.delete(code)


@blp.route("/group-codes/<int:code_id>/stats")
@blp.arguments(GroupCodeStatsArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupCodeStatsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def group_code_stats(code_id: int, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Joins through a group code by day

    Per local day (corp time zone, SCRM_TIMEZONE) from `since` to `until` inclusive (at most
    366 days): members who joined through the code, and of those, the ones who left; plus the
    members still in a group through it.
    """
    code = found(codes.get(current_corp_id(), code_id), CODE)
    with service_errors("query"):
        return code_stats.stats(code, since, until)
