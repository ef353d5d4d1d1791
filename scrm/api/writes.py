"""What the operator (write) endpoints share: service errors → HTTP."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.exceptions import BadGateway, NotFound, UnprocessableEntity

from scrm.extensions import db
from scrm.services.validation import Invalid
from scrm.wecom import WeComError


@contextmanager
def service_errors() -> Iterator[None]:
    """Invalid → 422 with `errors.json.<field>` (as webargs reports schema errors); a WeCom
    refusal or outage → 502 naming the errcode (nothing was changed)."""
    try:
        yield
    except Invalid as exc:
        db.session.rollback()
        error = UnprocessableEntity("The request body is not valid.")
        error.data = {"messages": {"json": exc.errors}}
        raise error from None
    except WeComError as exc:
        db.session.rollback()
        raise BadGateway(f"WeCom did not accept the change: {exc}") from None


def found(row, what: str):
    if row is None:
        raise NotFound(f"No {what} with this id.")
    return row
