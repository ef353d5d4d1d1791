"""The content library (话术 and 素材): /api/v1/contents and /api/v1/content-categories."""
from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, page_of, paginate
from scrm.api.writes import found, service_errors
from scrm.models import ContentItem
from scrm.schemas.library import (
    CategorySchema,
    ContentInSchema,
    ContentListArgsSchema,
    ContentPatchSchema,
    ContentSchema,
)
from scrm.services import library

blp = make_blueprint("contents", __name__, "/api/v1", "The content library: scripts (话术) and materials (素材: "
                     "images, links, mini-programs) staff send into a chat from the sidebar in one tap.")


def _item(content_id: int) -> ContentItem:
    return found(library.get(current_corp_id(), content_id), "content item")


@blp.route("/contents")
@blp.arguments(ContentListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ContentSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@paginate(blp)
def list_contents(pagination_parameters: PaginationParameters, q: str | None = None, category: str | None = None,
                  kind: str | None = None) -> list[ContentItem]:
    """List content items

    Most used first, then by id (the sidebar's order). `q`: case-insensitive substring of the
    title, keywords, text content or link description. Deleted items are not listed.
    """
    return page_of(library.search(current_corp_id(), q, category, kind), pagination_parameters)


@blp.route("/contents", methods=["POST"])
@blp.arguments(ContentInSchema)
@blp.response(201, ContentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_content(data: dict[str, Any]) -> ContentItem:
    """Create a content item

    Text (话术) may use `{nickname}` and `{staff_name}`, rendered for the chat's customer and the
    sending staff member. Image and mini-program media must be image assets of the corp
    (POST /api/v1/media); the sidebar sends their current WeCom media_id.
    """
    with service_errors():
        return library.create(current_corp_id(), data)


@blp.route("/contents/<int:content_id>")
@blp.response(200, ContentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_content(content_id: int) -> ContentItem:
    """Get a content item (with its usage: `use_count`, `last_used_at`)"""
    return _item(content_id)


@blp.route("/contents/<int:content_id>", methods=["PATCH"])
@blp.arguments(ContentPatchSchema)
@blp.response(200, ContentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_content(data: dict[str, Any], content_id: int) -> ContentItem:
    """Change a content item (only the fields given; a new `kind` needs its `body`)"""
    item = _item(content_id)
    with service_errors():
        return library.update_item(item, data)


@blp.route("/contents/<int:content_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_content(content_id: int) -> None:
    """Delete a content item (the row stays, marked deleted, with its usage counts)"""
    item = _item(content_id)
    with service_errors():
        library.delete(item)


@blp.route("/content-categories")
@blp.response(200, CategorySchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_categories() -> list[dict[str, Any]]:
    """List content categories

    Category names (by name) with how many items, not deleted, each holds.
    """
    return library.categories(current_corp_id())
