"""Bearer-token authentication for /api/v1: every request is scoped to the token's corp."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Response, g, jsonify, request
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from scrm import clock
from scrm.extensions import db
from scrm.logging import corp_id_var
from scrm.models import ApiToken
from scrm.services.tokens import hash_token

log = logging.getLogger(__name__)

# Recording every use would turn each read into a write; a minute's precision is plenty.
LAST_USED_PRECISION = timedelta(minutes=1)

SECURITY_DESCRIPTION = (
    "`Authorization: Bearer <token>`. Create a token with `flask scrm token create NAME "
    "[--corp CORP_ID]`; it reads only that corp's data. Revoke it with `flask scrm token revoke NAME`."
)


def authenticate() -> Response | None:
    """before_request hook: a 401 response, or None with `g.api_corp_id` set."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("Missing bearer token: send `Authorization: Bearer <token>`.", "")
    # Looking up the SHA-256 of the token, not the token, leaves no timing signal worth having.
    row = db.session.execute(
        select(ApiToken.id, ApiToken.corp_id, ApiToken.last_used_at)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return _unauthorized("Unknown or revoked token.", ', error="invalid_token"')
    _touch(row.id, row.last_used_at)
    g.api_corp_id = row.corp_id
    corp_id_var.set(row.corp_id)
    return None


def current_corp_id() -> str:
    """The corp every query of this request is scoped to."""
    return g.api_corp_id


def _touch(token_id: int, last_used_at: datetime | None) -> None:
    now = clock.utcnow()
    stale = now - LAST_USED_PRECISION
    if last_used_at is not None and last_used_at > stale:
        return
    # Conditional, so concurrent requests at the turn of the minute write once between them.
    try:
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id,
                   or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
            .values(last_used_at=now)
        )
        db.session.commit()
    except SQLAlchemyError:  # bookkeeping only: never fail a read because of it
        db.session.rollback()
        log.warning("could not record last_used_at of api token %s", token_id, exc_info=True)


def _unauthorized(message: str, challenge_params: str) -> Response:
    # Same shape as the app's JSON error handler for /api/ paths.
    response = jsonify({"code": 401, "status": "Unauthorized", "message": message})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="scrm"' + challenge_params  # RFC 6750 §3
    return response
