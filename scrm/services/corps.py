"""Corps served by this deployment: credentials for callbacks and WeCom API clients."""
from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app

from scrm.config import settings
from scrm.extensions import db
from scrm.models import Corp
from scrm.wecom.crypto import CallbackCrypto


@dataclass(frozen=True)
class CorpCredentials:
    corp_id: str
    agent_id: int | None
    secret: str
    token: str
    aes_key: str


_cache: dict[str, tuple[float, CorpCredentials | None]] = {}
_CACHE_SECONDS = 60


def env_corp_id() -> str:
    return settings().wecom_corp_id


def credentials(corp_id: str | None = None) -> CorpCredentials | None:
    """Credentials of the env corp, or of a corp registered in the database (cached briefly so
    the callback view does not read the database for them on every request)."""
    cfg = settings()
    if corp_id is None or corp_id == cfg.wecom_corp_id:
        return CorpCredentials(cfg.wecom_corp_id, cfg.wecom_agent_id, cfg.wecom_secret,
                               cfg.wecom_token, cfg.wecom_aes_key)
    hit = _cache.get(corp_id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    corp = db.session.get(Corp, corp_id)
    creds = None
    if corp and corp.secret and corp.token and corp.aes_key:
        creds = CorpCredentials(corp.corp_id, corp.agent_id, corp.secret, corp.token, corp.aes_key)
    _cache[corp_id] = (time.monotonic() + _CACHE_SECONDS, creds)
    return creds


_cryptos: dict[CorpCredentials, CallbackCrypto] = {}


def callback_crypto(creds: CorpCredentials) -> CallbackCrypto:
    crypto = _cryptos.get(creds)
    if crypto is None:
        crypto = _cryptos[creds] = CallbackCrypto(creds.token, creds.aes_key, creds.corp_id)
    return crypto


def register_corp(corp_id: str, *, agent_id: int, secret: str, token: str, aes_key: str,
                  name: str | None = None) -> Corp:
    corp = db.session.get(Corp, corp_id) or Corp(corp_id=corp_id)
    corp.agent_id, corp.secret, corp.token, corp.aes_key = agent_id, secret, token, aes_key
    corp.name = name or corp.name
    db.session.add(corp)
    db.session.commit()
    _cache.pop(corp_id, None)
    return corp


def ensure_corp(corp_id: str) -> None:
    """Give the corp a row (the env corp gets one on first use)."""
    if db.session.get(Corp, corp_id) is None:
        db.session.add(Corp(corp_id=corp_id))
        db.session.flush()


def wecom_client(corp_id: str, *, max_rate_wait: float = 10.0):
    """A WeCom API client for the corp (token shared through Redis by every process), whose calls
    keep within the corp's per-API budget (scrm/wecom/ratelimit.py). A call that would have to
    wait longer than ``max_rate_wait`` seconds for room raises a retryable 45009 instead."""
    return wecom_client_factory(corp_id, max_rate_wait=max_rate_wait)()


def wecom_client_factory(corp_id: str, *, max_rate_wait: float = 10.0):
    """wecom_client() as a factory that works outside the app context (threads)."""
    from functools import partial

    from scrm.wecom import RateLimiter, WeComClient
    from scrm.wecom.ratelimit import default_windows

    creds = credentials(corp_id)
    if creds is None:
        raise LookupError(f"corp {corp_id} is not registered")
    cfg = settings()
    redis = current_app.extensions["redis"]
    limiter = RateLimiter(redis, creds.corp_id, default_windows(cfg.wecom_rate_per_minute,
                                                                cfg.wecom_rate_per_hour),
                          max_wait=max_rate_wait)
    return partial(WeComClient, creds.corp_id, creds.secret, redis=redis,
                   api_base_url=cfg.wecom_api_base_url, timeout=cfg.wecom_timeout,
                   agent_id=creds.agent_id, rate_limiter=limiter)
