"""GET /api/v1/groups and /api/v1/groups/<chat_id>."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.extensions import db
from scrm.models import GroupChat, GroupCodeChat, GroupLabelLink, GroupMember
from scrm.schemas.groups import GroupDetailArgsSchema, GroupDetailSchema, GroupListArgsSchema, GroupSchema
from scrm.services.community import labels

blp = make_blueprint("groups", __name__, "/api/v1/groups", "Customer group chats (客户群) and members.")


@blp.route("")
@blp.arguments(GroupListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_groups(pagination_parameters: PaginationParameters, owner: str | None = None,
                status: str | None = None, name: str | None = None,
                label_id: int | None = None, group_code_id: int | None = None,
                created_from: datetime | None = None, created_to: datetime | None = None) -> list[dict[str, Any]]:
    """List groups

    Ordered by internal id. `name`: a case-insensitive substring; `group_code_id`: the groups
    behind a group code; `created_from`/`created_to`: WeCom's create_time. Paginated: `page`,
    `page_size` (default 50, at most 200); totals in
    the `X-Pagination` header.
    """
    corp_id = current_corp_id()
    query = select(GroupChat).where(GroupChat.corp_id == corp_id).order_by(GroupChat.id)
    if owner:
        query = query.where(GroupChat.owner == owner)
    if status:
        query = query.where(GroupChat.status == status)
    if name:
        query = query.where(GroupChat.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
    if label_id is not None:
        query = query.where(GroupChat.chat_id.in_(select(GroupLabelLink.chat_id).where(
            GroupLabelLink.corp_id == corp_id, GroupLabelLink.label_id == label_id)))
    if group_code_id is not None:
        query = query.where(GroupChat.chat_id.in_(select(GroupCodeChat.chat_id).where(
            GroupCodeChat.corp_id == corp_id, GroupCodeChat.group_code_id == group_code_id)))
    if created_from:
        query = query.where(GroupChat.create_time >= created_from)
    if created_to:
        query = query.where(GroupChat.create_time < created_to)
    groups = page_of(scoping.scoped(query, GroupChat.owner), pagination_parameters)
    counts = _member_counts(corp_id, [g.chat_id for g in groups])
    return [row_dict(g, member_count=counts.get(g.chat_id, 0)) for g in groups]


@blp.route("/<chat_id>")
@blp.arguments(GroupDetailArgsSchema, location="query", as_kwargs=True)
@blp.response(200, GroupDetailSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_group(chat_id: str, include_quit: bool) -> dict[str, Any]:
    """Get a group with its members

    Current members only by default; `include_quit=true` adds those who left (quit_time set).
    """
    scoping.require_group(chat_id)
    detail = group_detail(current_corp_id(), chat_id, include_quit)
    if detail is None:
        raise NotFound("No group with this chat_id.")
    return detail


def group_detail(corp_id: str, chat_id: str, include_quit: bool = False) -> dict[str, Any] | None:
    """The group with its members (before GroupDetailSchema), or None. Shared with the sidebar."""
    group = db.session.scalar(select(GroupChat).filter_by(corp_id=corp_id, chat_id=chat_id))
    if group is None:
        return None
    query = (select(GroupMember).filter_by(corp_id=corp_id, chat_id=chat_id)
             .order_by(GroupMember.join_time.nulls_last(), GroupMember.id))
    if not include_quit:
        query = query.where(GroupMember.quit_time.is_(None))
    members = list(db.session.scalars(query))
    return row_dict(group, members=members, member_count=_member_counts(corp_id, [chat_id]).get(chat_id, 0),
                    labels=labels.labels_of(corp_id, [chat_id])[chat_id])


def _member_counts(corp_id: str, chat_ids: Iterable[str]) -> dict[str, int]:
    chat_ids = list(chat_ids)
    if not chat_ids:
        return {}
    rows = db.session.execute(
        select(GroupMember.chat_id, func.count())
        .where(GroupMember.corp_id == corp_id, GroupMember.chat_id.in_(chat_ids),
               GroupMember.quit_time.is_(None))
        .group_by(GroupMember.chat_id))
    return {chat_id: count for chat_id, count in rows}


def _escape_like(text: str) -> str:
    """A user's `%` or `_` is a literal character, not a wildcard."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
