"""Helpers for the event handler tests."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import TimelineEntry
from tests.conftest import WECOM_BASE
from tests.helpers import wecom_fixture


class WeComStub:
    """The `wecom` responses mock with reply fixtures (tests/fixtures/wecom/<api path>.json)."""

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock

    @staticmethod
    def fixture(path: str) -> dict:
        return wecom_fixture(path)

    def reply(self, path: str, *replies: dict, method: str = "POST") -> None:
        """Queue replies for `path` (default: its fixture); the last one repeats."""
        for body in replies or (self.fixture(path),):
            self.mock.add(method, WECOM_BASE + path, json=body)

    def error(self, path: str, errcode: int, method: str = "POST") -> None:
        self.reply(path, {"errcode": errcode, "errmsg": f"error {errcode}"}, method=method)

    def calls(self, path: str) -> list:
        wanted = urlsplit(WECOM_BASE + path).path
        return [call.request for call in self.mock.calls if urlsplit(call.request.url).path == wanted]

    def params(self, path: str) -> list[dict]:
        return [{k: v[0] for k, v in parse_qs(urlsplit(r.url).query).items() if k != "access_token"}
                for r in self.calls(path)]

    def bodies(self, path: str) -> list[dict]:
        return [json.loads(r.body) for r in self.calls(path)]

    def api_calls(self) -> list[str]:
        """Paths called, gettoken excluded."""
        base = urlsplit(WECOM_BASE).path
        paths = [urlsplit(call.request.url).path.removeprefix(base) for call in self.mock.calls]
        return [path for path in paths if path != "gettoken"]


def timeline(external_userid: str | None = None, kind: str | None = None) -> list[TimelineEntry]:
    query = select(TimelineEntry).order_by(TimelineEntry.id)
    if external_userid:
        query = query.where(TimelineEntry.external_userid == external_userid)
    if kind:
        query = query.where(TimelineEntry.kind == kind)
    return list(db.session.scalars(query))
