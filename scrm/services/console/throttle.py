"""Failed password sign-ins, counted per username and per client address.

After SCRM_CONSOLE_LOGIN_MAX_FAILURES failures for one username (or
SCRM_CONSOLE_LOGIN_MAX_FAILURES_PER_IP from one address) within a window of
SCRM_CONSOLE_LOGIN_WINDOW_MINUTES, sign-ins for it are refused, right or wrong password, until the
window ends; a success clears the username's count. The counting is the one fixed-window limiter
(scrm/wecom/ratelimit.py WindowCounter) on the project's Redis, with the injectable clock
(scrm/clock.py) as its time. Usernames are hashed in the keys. When Redis is unreachable the
check lets the attempt through (and logs): the password is still checked.
"""
from __future__ import annotations

import hashlib
import logging
import math
from datetime import UTC

import redis as redis_lib

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import redis_store
from scrm.wecom.ratelimit import WindowCounter

log = logging.getLogger(__name__)
PREFIX = "scrm:console:login-failures"


def _now() -> float:
    return utcnow().replace(tzinfo=UTC).timestamp()


def _counters() -> tuple[WindowCounter, WindowCounter]:
    cfg = settings()
    window = cfg.console_login_window_minutes * 60
    client = redis_store.client
    return (WindowCounter(client, f"{PREFIX}:user", ((window, cfg.console_login_max_failures),)),
            WindowCounter(client, f"{PREFIX}:ip", ((window, cfg.console_login_max_failures_per_ip),)))


def _subjects(corp_id: str, username: str, ip: str | None) -> tuple[str, str]:
    user = hashlib.sha256(f"{corp_id}\0{username.strip().lower()}".encode()).hexdigest()[:32]
    return user, ip or "unknown"


def blocked_minutes(corp_id: str, username: str, ip: str | None) -> int:
    """Whole minutes until this username and address may try again; 0: they may now."""
    by_user, by_ip = _counters()
    user, address = _subjects(corp_id, username, ip)
    now = _now()
    try:
        wait = max(by_user.retry_after(user, now), by_ip.retry_after(address, now))
    except redis_lib.RedisError as exc:
        log.warning("console sign-in throttle unavailable, not enforced: %s", type(exc).__name__)
        return 0
    return math.ceil(wait / 60) if wait > 0 else 0


def record_failure(corp_id: str, username: str, ip: str | None) -> None:
    by_user, by_ip = _counters()
    user, address = _subjects(corp_id, username, ip)
    now = _now()
    try:
        by_user.count(user, now)
        by_ip.count(address, now)
    except redis_lib.RedisError as exc:
        log.warning("console sign-in throttle unavailable, failure not counted: %s", type(exc).__name__)


def clear(corp_id: str, username: str) -> None:
    """A successful sign-in: the username's failures are forgotten (the address's are not)."""
    by_user, _ = _counters()
    user, _ = _subjects(corp_id, username, None)
    try:
        redis_store.client.delete(*by_user.keys(user, _now()))
    except redis_lib.RedisError as exc:
        log.warning("console sign-in throttle unavailable, failures not cleared: %s", type(exc).__name__)
