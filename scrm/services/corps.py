"""Corps served by this deployment: credentials for callbacks and WeCom API clients."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from cachetools import LRUCache, TTLCache
from flask import current_app
from sqlalchemy import select

from scrm.config import settings
from scrm.extensions import db
from scrm.models import Corp
from scrm.secretbox import seal, unseal
from scrm.wecom.crypto import CallbackCrypto


@dataclass(frozen=True)
class CorpCredentials:
    corp_id: str
    agent_id: int | None
    secret: str
    token: str
    aes_key: str


# WeCom corp ids are `ww` (or, for older corps, `wx`) + 16 alphanumerics (docs/wecom: ReceiveId);
# a little slack in the length, none in the charset. Checked before any lookup.
CORP_ID_PATTERN = re.compile(r"w[wx][A-Za-z0-9]{1,30}")

# Only corps that exist are cached, briefly and boundedly; an unknown id is never cached, so
# random ids on the callback URL cannot grow it. (cachetools caches are not thread-safe.)
_cache: TTLCache[str, CorpCredentials] = TTLCache(maxsize=1024, ttl=60)
_cryptos: LRUCache[CorpCredentials, CallbackCrypto] = LRUCache(maxsize=1024)
_lock = threading.Lock()


def valid_corp_id(corp_id: str) -> bool:
    return CORP_ID_PATTERN.fullmatch(corp_id) is not None


def env_corp_id() -> str:
    return settings().wecom_corp_id


def credentials(corp_id: str | None = None) -> CorpCredentials | None:
    """Credentials of the env corp, or of a corp registered in the database (cached briefly so
    the callback view does not read the database for them on every request). In sandbox mode
    only the sandbox corp is served: database-registered corps are real ones."""
    cfg = settings()
    if corp_id is None or corp_id == cfg.wecom_corp_id:
        return CorpCredentials(cfg.wecom_corp_id, cfg.wecom_agent_id, cfg.wecom_secret,
                               cfg.wecom_token, cfg.wecom_aes_key)
    if cfg.sandbox or not valid_corp_id(corp_id):
        return None
    with _lock:
        creds = _cache.get(corp_id)
    if creds is not None:
        return creds
    corp = db.session.get(Corp, corp_id)
    if not (corp and corp.secret and corp.token and corp.aes_key):
        return None
    creds = CorpCredentials(corp.corp_id, corp.agent_id, unseal(corp.secret), unseal(corp.token),
                            unseal(corp.aes_key))
    with _lock:
        _cache[corp_id] = creds
    return creds


def callback_crypto(creds: CorpCredentials) -> CallbackCrypto:
    with _lock:
        crypto = _cryptos.get(creds)
        if crypto is None:
            crypto = _cryptos[creds] = CallbackCrypto(creds.token, creds.aes_key, creds.corp_id)
    return crypto


def register_corp(corp_id: str, *, agent_id: int, secret: str, token: str, aes_key: str,
                  name: str | None = None) -> Corp:
    """Register (or update) a further corp; its secrets are stored sealed with SCRM_DATA_KEY
    (DataKeyError, nothing written, without it)."""
    if not valid_corp_id(corp_id):
        raise ValueError("a WeCom corp id is ww (or wx) followed by letters and digits, 32 characters at most")
    corp = db.session.get(Corp, corp_id) or Corp(corp_id=corp_id)
    corp.agent_id = agent_id
    corp.secret, corp.token, corp.aes_key = seal(secret), seal(token), seal(aes_key)
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


def corps_to_sync() -> list[str]:
    """The env corp and every corp registered with credentials (the nightly runs and sweeps)."""
    registered = db.session.scalars(select(Corp.corp_id).where(Corp.secret.is_not(None)).order_by(Corp.corp_id))
    return list(dict.fromkeys([settings().wecom_corp_id, *registered]))
