"""Open API bearer tokens: only their SHA-256 is stored; each carries a scope and may expire."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from scrm import clock
from scrm.extensions import db
from scrm.models import ApiToken
from scrm.models.corp import TokenScope
from scrm.services import policy

log = logging.getLogger(__name__)

SCOPES = tuple(scope.value for scope in TokenScope)  # in order: each includes those before it

# Recording every use would turn each read into a write; a minute's precision is plenty.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenGrant:
    """What a presented token may do."""

    token_id: int
    corp_id: str
    scope: str
    name: str = ""

    @property
    def actor(self) -> str:
        """Who acted, for the audit log."""
        return f"api-token:{self.token_id}:{self.name}"[:64]

    def allows(self, needed: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


@dataclass(frozen=True)
class ConsoleGrant:
    """What a console session may do through the Open API's resources (/console/api/v1): the token
    scope its role maps to (admin → admin, any other role → write; the policy's capability table
    then decides per endpoint family) and the viewer whose data scope narrows every read."""

    corp_id: str
    scope: str
    actor: str
    viewer: policy.Viewer

    def allows(self, needed: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


def console_grant(principal) -> ConsoleGrant:
    """A local administrator acts as the admin role; a member with their role (scrm/services/policy)."""
    if principal.kind == "admin":
        return ConsoleGrant(principal.corp_id, TokenScope.ADMIN, f"console-admin:{principal.name}"[:64],
                            policy.Viewer.of(principal.corp_id, None))
    viewer = policy.Viewer.of(principal.corp_id, principal.userid)
    scope = TokenScope.ADMIN if viewer.role.role == policy.ADMIN else TokenScope.WRITE
    return ConsoleGrant(principal.corp_id, scope, principal.userid[:64], viewer)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, corp_id: str, *, scope: str = TokenScope.ADMIN,
                 expires_in_days: int | None = None) -> str:
    """A new token for `corp_id`; the only time it is ever shown."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    token = "scrm_" + secrets.token_urlsafe(32)
    expires_at = clock.utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    db.session.add(ApiToken(name=name, corp_id=corp_id, token_hash=hash_token(token), scope=str(scope),
                            expires_at=expires_at))
    db.session.commit()
    return token


def revoke_tokens(name: str) -> int:
    tokens = db.session.scalars(select(ApiToken).filter_by(name=name, revoked_at=None)).all()
    for token in tokens:
        token.revoked_at = clock.utcnow()
    db.session.commit()
    return len(tokens)


def grant_for(token: str) -> TokenGrant | None:
    """The grant of a live token (known, not revoked, not expired), recording its use; else None."""
    # Looking up the SHA-256 of the token, not the token, leaves no timing signal worth having.
    row = db.session.execute(
        select(ApiToken.id, ApiToken.corp_id, ApiToken.scope, ApiToken.name, ApiToken.expires_at,
               ApiToken.last_used_at)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    now = clock.utcnow()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    _touch(row.id, row.last_used_at, now)
    return TokenGrant(row.id, row.corp_id, row.scope, row.name)


def _touch(token_id: int, last_used_at: datetime | None, now: datetime) -> None:
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
    except SQLAlchemyError as exc:  # bookkeeping only: never fail a read because of it
        db.session.rollback()
        log.warning("could not record last_used_at of api token %s: %s",
                                            token_id, type(exc).__name__)
