"""WeCom API errors: one base class, split into "retry later" and "don't bother".

Callers (RQ jobs) decide on ``exc.retryable``; which errcodes are retryable is the retry
policy's call (retry.py).
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
