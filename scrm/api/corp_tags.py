"""The corp tag library (企业客户标签): /api/v1/corp-tag-groups and /api/v1/corp-tags, kept in
WeCom with our copy (scrm/services/corp_tags.py)."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate, row_dict
from scrm.api.community import wecom_errors
from scrm.api.writes import found
from scrm.models import Tag, TagGroup
from scrm.schemas.corp_tags import (
    TagGroupInSchema,
    TagGroupSchema,
    TagListArgsSchema,
    TagPatchSchema,
    TagSchema,
    TagsInSchema,
    TagSyncResultSchema,
)
from scrm.services import corp_tags

blp = make_blueprint("corp_tags", __name__, "/api/v1", "The corp tag library (企业客户标签): tag groups and tags, "
                     "changed in WeCom (`add_corp_tag`, `edit_corp_tag`, `del_corp_tag`) and in our copy; "
                     "`POST /corp-tags/sync` reads the whole library back from WeCom.")
GROUP, TAG = "tag group", "tag"


def _out(rows: list[TagGroup]) -> list[dict[str, Any]]:
    corp_id = current_corp_id()
    tags = corp_tags.tags_of(corp_id, [row.group_id for row in rows])
    return [row_dict(row, tags=tags[row.group_id]) for row in rows]


def _group(group_id: str) -> TagGroup:
    return found(corp_tags.get_group(current_corp_id(), group_id), GROUP)


def _tag(tag_id: str) -> Tag:
    return found(corp_tags.get_tag(current_corp_id(), tag_id), TAG)


@blp.route("/corp-tag-groups")
@blp.arguments(TagListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, TagGroupSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_groups(pagination_parameters: PaginationParameters, name: str | None = None) -> list[dict[str, Any]]:
    """List the tag groups with their tags (WeCom's order: bigger `order` first)"""
    return _out(page_of(corp_tags.library_query(current_corp_id(), name), pagination_parameters))


@blp.route("/corp-tag-groups", methods=["POST"])
@blp.arguments(TagGroupInSchema)
@blp.response(201, TagGroupSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_group(data: dict[str, Any]) -> dict[str, Any]:
    """Create a tag group with its first tags (`add_corp_tag`)

    A group name already in the library → 422 (add the tags to that group instead); more than
    3000 corp tags → 409 (errcode 40126); WeCom refusing → 502; busy → 503.
    """
    with wecom_errors():
        return _out([corp_tags.create_group(current_corp_id(), data)])[0]


@blp.route("/corp-tag-groups/<group_id>")
@blp.response(200, TagGroupSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_group(group_id: str) -> dict[str, Any]:
    """Get a tag group with its tags"""
    return _out([_group(group_id)])[0]


@blp.route("/corp-tag-groups/<group_id>", methods=["PATCH"])
@blp.arguments(TagPatchSchema)
@blp.response(200, TagGroupSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_group(data: dict[str, Any], group_id: str) -> dict[str, Any]:
    """Rename or reorder a tag group (`edit_corp_tag`; customers' tag names follow)"""
    group = _group(group_id)
    with wecom_errors():
        return _out([corp_tags.edit_group(group, data)])[0]


@blp.route("/corp-tag-groups/<group_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_group(group_id: str) -> None:
    """Delete a tag group and its tags (`del_corp_tag`; they come off every customer)"""
    group = _group(group_id)
    with wecom_errors():
        corp_tags.delete_group(group)


@blp.route("/corp-tag-groups/<group_id>/tags", methods=["POST"])
@blp.arguments(TagsInSchema)
@blp.response(201, TagGroupSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def add_tags(data: dict[str, Any], group_id: str) -> dict[str, Any]:
    """Add tags to a group (`add_corp_tag` with its group_id; a name already in it → 422)"""
    group = _group(group_id)
    with wecom_errors():
        return _out([corp_tags.add_tags(group, data["tags"])])[0]


@blp.route("/corp-tags/<tag_id>", methods=["PATCH"])
@blp.arguments(TagPatchSchema)
@blp.response(200, TagSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_tag(data: dict[str, Any], tag_id: str) -> Tag:
    """Rename or reorder a tag (`edit_corp_tag`; customers' tag names follow)"""
    tag = _tag(tag_id)
    with wecom_errors():
        return corp_tags.edit_tag(tag, data)


@blp.route("/corp-tags/<tag_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_tag(tag_id: str) -> None:
    """Delete a tag (`del_corp_tag`; it comes off every customer; a group left empty goes too)"""
    tag = _tag(tag_id)
    with wecom_errors():
        corp_tags.delete_tag(tag)


@blp.route("/corp-tags/sync", methods=["POST"])
@blp.response(200, TagSyncResultSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def sync_tags() -> dict[str, int]:
    """Read the whole tag library from WeCom (`get_corp_tag_list`) into our copy

    Groups and tags WeCom no longer lists are deleted here and taken off customers.
    """
    with wecom_errors():
        return corp_tags.sync(current_corp_id())
