"""WeCom (企业微信) API client built on wechatpy 1.8.18. See client.py for what it adds."""
from .client import DEFAULT_API_BASE_URL, WeComClient
from .errors import PermanentWeComError, RetryableWeComError, WeComError
from .ratelimit import RateLimiter
from .retry import RETRYABLE_ERRCODES

__all__ = [
    "DEFAULT_API_BASE_URL",
    "PermanentWeComError",
    "RETRYABLE_ERRCODES",
    "RateLimiter",
    "RetryableWeComError",
    "WeComClient",
    "WeComError",
]
