"""Fixtures for the SOP tests: the operator API, a channel, customers added through callbacks,
and `flask scrm tick --now` followed by the messages worker at that time."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import responses

from scrm import clock
from scrm.extensions import db
from tests.api.factories import gen_token
from tests.helpers import post_callback, run_jobs
from tests.welcome.support import OK, add_event, contact_reply, gen_staff, gen_tags, url

T0 = datetime(2023, 11, 14, 22, 13, 20)  # CreateTime 1700000000; 2023-11-15 06:13:20 in Shanghai


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def channel(app, api, wecom) -> dict:
    gen_staff()
    gen_tags(("etEXPO", "展会"), ("etVIP", "重要"))
    wecom.add(responses.POST, url("externalcontact/add_contact_way"), json={**OK, "config_id": "CFG1"})
    wecom.add(responses.POST, url("externalcontact/mark_tag"), json=OK)
    created = api("POST", "/channels", json={"name": "展会", "type": 1, "scene": 2, "state": "expo",
                                             "userids": ["zhangsan"], "tag_ids": ["etEXPO"]})
    assert created.status_code == 201, created.json
    return created.json


@pytest.fixture
def add_customer(app, client, wecom):
    """A customer added through a channel state at T0 + offset: callback → handler (enrollment)."""
    def add(external_userid: str, name: str = "王小明", state: str = "expo", offset: timedelta = timedelta(0),
            tags: list | None = None) -> None:
        created = T0 + offset
        stamp = int((created - datetime(1970, 1, 1)).total_seconds())
        wecom.add(responses.GET, url("externalcontact/get"),
                  json=contact_reply(external_userid, name, state=state, createtime=stamp, tags=tags))
        post_callback(client, add_event(external_userid, state=state, code=None, create_time=stamp))
        db.session.rollback()
        assert run_jobs(app) == 1
        db.session.expire_all()
    return add


def tick_runner(app, runner):
    """`flask scrm tick --now AT`, then the messages worker as of AT, as a function of AT returning
    the tick's counts (the SOP, recall and group SOP tests' ``tick``)."""
    def run(at: datetime) -> dict:
        result = runner.invoke(args=["scrm", "tick", "--now", at.isoformat()])
        assert result.exit_code == 0, result.output
        clock.freeze(at)
        try:
            db.session.rollback()
            run_jobs(app, ["messages"])
        finally:
            clock.freeze(None)
        db.session.expire_all()
        return json.loads(result.output)
    return run


@pytest.fixture
def tick(app, runner):
    return tick_runner(app, runner)
