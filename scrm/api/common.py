"""What every v1 resource module shares: the blueprint factory, paging, row → dict."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Response, current_app, jsonify
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.exc import DataError

from scrm.api.auth import authenticate
from scrm.api.writes import unprocessable
from scrm.extensions import db

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # an offset beyond any table; larger numbers would overflow the database's


def make_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A v1 blueprint: bearer auth before every view, no caching or sniffing after."""
    blp = Blueprint(name, import_name, url_prefix=url_prefix, description=description)
    blp.before_request(authenticate)

    @blp.errorhandler(OverflowError)
    @blp.errorhandler(DataError)
    def out_of_range(exc: Exception):
        # A number in the body beyond what the database column holds (SQLite: OverflowError at
        # bind time; PostgreSQL: numeric_value_out_of_range): the client's error, not ours.
        db.session.rollback()
        return current_app.handle_http_exception(unprocessable("json", {"_schema": ["A number is out of range."]}))

    @blp.after_request
    def no_store(response: Response) -> Response:
        # Customer data: keep it out of shared caches; JSON must never be sniffed as HTML.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return blp


def plain_json(payload: dict[str, Any]) -> Response:
    """A large answer of plain values sent without marshmallow's per-field dump: for a report of
    500 members (~17,000 fields) the dump cost as much as the queries. Dates become ISO strings,
    Decimal sums numbers, a ``from_`` key ``from`` (as the schemas' data_key). The view's
    @blp.response schema still documents the answer, and its tests hold the schema's dump and
    this one equal."""
    return jsonify({("from" if key == "from_" else key): _plain(value) for key, value in payload.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def paginate(blp: Blueprint) -> Callable[[Callable], Callable]:
    """flask-smorest page/page_size pagination with our defaults; fills X-Pagination."""
    return blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)


def page_of(query: Select, pagination: PaginationParameters) -> list[Any]:
    """One page of `query` (which must be ordered); sets the total for X-Pagination."""
    return list(db.session.scalars(_paged(query, pagination)))


def rows_page_of(query: Select, pagination: PaginationParameters) -> list[dict[str, Any]]:
    """As page_of, for a query of columns: each row as a dict."""
    return [dict(row._mapping) for row in db.session.execute(_paged(query, pagination))]


def _paged(query: Select, pagination: PaginationParameters) -> Select:
    if pagination.page > MAX_PAGE:
        raise unprocessable("query", {"page": [f"Must be at most {MAX_PAGE}."]})
    pagination.item_count = db.session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery()))
    return query.offset(pagination.first_item).limit(pagination.page_size)


def row_dict(row: Any, **extra: Any) -> dict[str, Any]:
    """A model row's columns as a dict, plus extra keys (for nested output)."""
    data = {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}
    data.update(extra)
    return data
