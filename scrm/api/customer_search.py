"""GET /api/v1/customer-search (the console's customer list), /api/v1/segments (saved
segments: CRUD and the live count), /api/v1/customers/<external_userid>/profile and /timeline
(the customer page). The filter → SQL is scrm/services/customer_search/filters.py."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate
from werkzeug.exceptions import NotFound

from scrm.api import scoping
from scrm.api.auth import current_actor, current_corp_id
from scrm.api.common import make_blueprint
from scrm.api.writes import found, service_errors, unprocessable
from scrm.clock import iso_z
from scrm.schemas.customer_search import (
    CustomerPageSchema,
    CustomerProfileSchema,
    CustomerSearchArgsSchema,
    CustomerSegmentCountArgsSchema,
    CustomerSegmentCountSchema,
    CustomerSegmentInSchema,
    CustomerSegmentPatchSchema,
    CustomerSegmentSchema,
    CustomerTimelineSchema,
    SearchOptionsSchema,
)
from scrm.services import privacy
from scrm.services.customer_search import listing, options, profile, segments

blp = make_blueprint("customer_search", __name__, "/api/v1",
                     "The customer list's search and filters, saved segments (分群), the customer page.")


def visible_userids() -> Collection[str] | None:
    """The staff whose relations this caller may see (the data scope, scrm/services/policy);
    None: the whole corp (a token, a corp-wide member). Every view below passes it on."""
    return scoping.visible_members()


@blp.route("/customer-search")
@blp.arguments(CustomerSearchArgsSchema, location="query")
@blp.response(200, CustomerPageSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def search_customers(args: dict[str, Any]) -> dict[str, Any]:
    """Search and filter customers (one row per follow relation)

    Every filter holds on one and the same relation; lists are "any of" (repeat the parameter),
    tags "any" or "all" (`tag_mode`). Newest adds first by default. `total` is exact up to
    `count_cap` (10,000), beyond it `total_capped` is true; pages go 10,000 rows deep.
    """
    sort, page, page_size = args.pop("sort"), args.pop("page"), args.pop("page_size")
    with_total = args.pop("with_total")
    corp_id = current_corp_id()
    try:
        result = listing.page(corp_id, args, sort=sort, page=page, page_size=page_size,
                              visible_userids=visible_userids(), with_total=with_total)
    except listing.TooDeep as exc:
        raise unprocessable("query", {"page": [str(exc)]}) from None
    privacy.record_api_reads(corp_id, current_actor(), "api_list_customers",
                             [row["external_userid"] for row in result["items"]])
    return result


@blp.route("/customer-search/options")
@blp.response(200, SearchOptionsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def search_options() -> dict[str, Any]:
    """What the list's filters can be set to

    The corp tag library by group, funnel stages, channel codes, current staff members, departments
    (with parent_id), group labels and group codes — for a filter form.
    """
    return options.filter_options(current_corp_id())


@blp.route("/segments")
@blp.response(200, CustomerSegmentSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_segments() -> list:
    """List saved segments (by name)"""
    return segments.list_segments(current_corp_id())


@blp.route("/segments", methods=["POST"])
@blp.arguments(CustomerSegmentInSchema)
@blp.response(201, CustomerSegmentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_segment(data: dict[str, Any]):
    """Save a segment: a name and the list's filters (as the query parameters, lists as arrays)"""
    with service_errors():
        return segments.create(current_corp_id(), data, current_actor())


@blp.route("/segments/<int:segment_id>")
@blp.response(200, CustomerSegmentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_segment(segment_id: int):
    """Get a segment"""
    return found(segments.get(current_corp_id(), segment_id), "segment")


@blp.route("/segments/<int:segment_id>", methods=["PATCH"])
@blp.arguments(CustomerSegmentPatchSchema)
@blp.response(200, CustomerSegmentSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_segment(data: dict[str, Any], segment_id: int):
    """Rename a segment or replace its filters"""
    segment = found(segments.get(current_corp_id(), segment_id), "segment")
    with service_errors():
        return segments.update(segment, data)


@blp.route("/segments/<int:segment_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def delete_segment(segment_id: int) -> None:
    """Delete a segment"""
    segments.delete(found(segments.get(current_corp_id(), segment_id), "segment"))


@blp.route("/segments/<int:segment_id>/count")
@blp.arguments(CustomerSegmentCountArgsSchema, location="query")
@blp.response(200, CustomerSegmentCountSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def count_segment(args: dict[str, Any], segment_id: int) -> dict[str, Any]:
    """A segment's live size

    Matching relations now, exact up to 10,000 (`total_capped` beyond); `exact=true` counts them
    all and the distinct customers too. 422 when the stored filter no longer validates.
    """
    segment = found(segments.get(current_corp_id(), segment_id), "segment")
    with service_errors("json"):
        return segments.count(segment, exact=args["exact"], visible_userids=visible_userids())


class TimelineArgsSchema(Schema):
    before = fields.Integer(validate=validate.Range(1, 2**63 - 1),
                            metadata={"description": "The id of the previous page's last entry."})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


@blp.route("/customers/<external_userid>/profile")
@blp.response(200, CustomerProfileSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def customer_profile(external_userid: str) -> dict[str, Any]:
    """A customer's profile as the sidebar shows it, across all their relations

    Every relation (staff member, remark, masked mobiles, tags, churn risk), the funnel stage,
    custom fields, current groups and SOPs. Customer-controlled text: escape before rendering.
    """
    corp_id = current_corp_id()
    view = profile.customer_profile(corp_id, external_userid, visible_userids(),
                                    mask_mobiles=not scoping.can_view_mobile())
    if view is None:
        raise NotFound("No customer with this external_userid.")
    privacy.record_api_reads(corp_id, current_actor(), "api_view_customer", [external_userid])
    return _json_times(view)


@blp.route("/customers/<external_userid>/timeline")
@blp.arguments(TimelineArgsSchema, location="query")
@blp.response(200, CustomerTimelineSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def customer_timeline(args: dict[str, Any], external_userid: str) -> dict[str, Any]:
    """A customer's timeline, newest first, with labels and what each edit changed

    Paged with `before` (the `next_before` of the previous page).
    """
    corp_id = current_corp_id()
    visible = visible_userids()
    if not profile.visible(corp_id, external_userid, visible):
        raise NotFound("No customer with this external_userid.")
    return _json_times(profile.customer_timeline(corp_id, external_userid, visible_userids=visible,
                                                 mask_mobiles=not scoping.can_view_mobile(), **args))


def _json_times(value: Any) -> Any:
    """Datetimes (naive UTC) as ISO-8601 with Z, as every other v1 response."""
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, dict):
        return {k: _json_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_times(v) for v in value]
    return value
