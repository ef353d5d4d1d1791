"""What the operator (write) endpoints share: service errors → HTTP. Every Open API write runs
its service call inside `service_errors()`, the one mapping of refusals to 422 with field messages."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.exceptions import BadGateway, NotFound, UnprocessableEntity

from scrm.extensions import db
from scrm.services.media import MediaRejected
from scrm.services.validation import Invalid
from scrm.wecom import WeComError


def unprocessable(location: str, errors: dict[str, list[str]]) -> UnprocessableEntity:
    """A 422 shaped as webargs reports schema errors: `errors.<location>.<field>: [messages]`."""
    error = UnprocessableEntity("The request is not valid.")
    error.data = {"messages": {location: errors}}
    return error


@contextmanager
def service_errors(location: str = "json") -> Iterator[None]:
    """Invalid → 422 with `errors.<location>.<field>` (`json`: the body; `path`, `query`, `form`);
    a rejected upload → 422 naming its form or file field; a WeCom refusal or outage → 502 naming
    the errcode (nothing was changed)."""
    try:
        yield
    except Invalid as exc:
        db.session.rollback()
        raise unprocessable(location, exc.errors) from None
    except MediaRejected as exc:
        db.session.rollback()
        raise unprocessable("files" if exc.field == "file" else "form", {exc.field: [str(exc)]}) from None
    except WeComError as exc:
        db.session.rollback()
        raise BadGateway(f"WeCom did not accept the change: {exc}") from None


def found(row, what: str):
    if row is None:
        raise NotFound(f"No {what} with this id.")
    return row
