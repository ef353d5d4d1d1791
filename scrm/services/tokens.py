"""Open API bearer tokens: only their SHA-256 is stored."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, corp_id: str) -> str:
    """A new token for `corp_id`; the only time it is ever shown."""
    token = "scrm_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, corp_id=corp_id, token_hash=hash_token(token)))
    db.session.commit()
    return token


def revoke_tokens(name: str) -> int:
    tokens = db.session.scalars(select(ApiToken).filter_by(name=name, revoked_at=None)).all()
    for token in tokens:
        token.revoked_at = clock.utcnow()
    db.session.commit()
    return len(tokens)
