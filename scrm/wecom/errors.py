"""WeCom API errors: one base class, split into "retry later" and "don't bother".

Callers (RQ jobs) decide on ``exc.retryable``; the split is driven by ``ERROR_CLASSES``
(PROTOCOL.md §3.9). Anything not listed there is permanent.
"""
from __future__ import annotations


class WeComError(Exception):
    """A WeCom call that did not return errcode 0.

    ``errcode`` is None when WeCom never answered with JSON (network error, timeout,
    HTTP error status, unparsable body). ``api`` is the path, e.g. "externalcontact/get".
    """

    def __init__(self, errcode: int | None, errmsg: str, api: str):
        super().__init__(errcode, errmsg, api)
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api

    @property
    def retryable(self) -> bool:
        return isinstance(self, RetryableWeComError)

    def __str__(self) -> str:
        return f"{self.api} errcode={self.errcode}: {self.errmsg}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errcode!r}, {self.errmsg!r}, {self.api!r})"


class RetryableWeComError(WeComError):
    """Transient: try again later (with backoff)."""


class PermanentWeComError(WeComError):
    """Retrying the same request will not help (bad input, config, permission...)."""


# errcode -> class. Extend here; unlisted errcodes are permanent.
ERROR_CLASSES: dict[int, type[WeComError]] = {
    -1: RetryableWeComError,     # 系统繁忙 ("retry at most 3 times")
    45009: RetryableWeComError,  # frequency limit; the ban lasts as long as the window (>= 60 s)
    45033: RetryableWeComError,  # too many concurrent calls on the same resource
    41096: RetryableWeComError,  # welcome message being distributed by another app
    41063: RetryableWeComError,  # mass message still being dispatched
}


def error_for(api: str, errcode: int | None, errmsg: str, *, retryable: bool | None = None) -> WeComError:
    """Build the right subclass; ``retryable`` overrides the table (used for transport errors)."""
    if retryable is None:
        cls = ERROR_CLASSES.get(errcode, PermanentWeComError) if errcode is not None else PermanentWeComError
    else:
        cls = RetryableWeComError if retryable else PermanentWeComError
    return cls(errcode, errmsg, api)
