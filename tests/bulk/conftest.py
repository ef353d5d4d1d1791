"""Fixtures for the bulk action tests: the Open API, a small world of staff, customers, relations
and tags, and `flask scrm tick --now` followed by the messages worker (tests/sop's tick)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import BulkJobItem, Customer, FollowRelation, RelationTag, Staff
from tests.api.factories import gen_token
from tests.conftest import TEST_CORP_ID
from tests.sop.conftest import tick_runner
from tests.welcome.support import gen_tags

T0 = datetime(2026, 12, 10, 2, 0)  # 10:00 in Shanghai
RELATIONS = (("zhangsan", "wmA"), ("zhangsan", "wmB"), ("zhangsan", "wmC"), ("lisi", "wmB"), ("lisi", "wmD"),
             ("laoliu", "wmE"))


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def tick(app, runner):
    return tick_runner(app, runner)


@pytest.fixture
def world(app):
    """zhangsan follows wmA (tagged 重要), wmB, wmC; lisi follows wmB and wmD; laoliu (left the
    company) follows wmE; wangwu follows nobody; wmX deleted zhangsan."""
    clock.freeze(T0)
    for userid, name, left in (("zhangsan", "张三", None), ("lisi", "李四", None), ("wangwu", "王五", None),
                               ("laoliu", "老六", T0 - timedelta(days=1))):
        db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=name, status=1, left_at=left))
    for ext in ("wmA", "wmB", "wmC", "wmD", "wmE", "wmX"):
        db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=ext, name=f"客户{ext}", type=1))
    for userid, ext in (*RELATIONS, ("zhangsan", "wmX")):
        db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=ext,
                                      status="deleted_by_customer" if ext == "wmX" else "active",
                                      added_at=T0 - timedelta(days=30), created_at=T0 - timedelta(days=30)))
        db.session.flush()
    db.session.add(RelationTag(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid="wmA", tag_key="etVIP",
                               tag_id="etVIP", tag_name="重要", group_name="来源", type=1))
    db.session.commit()
    gen_tags(("etVIP", "重要"), ("etEXPO", "展会"))
    yield
    clock.freeze(None)


def bodies(wecom, path: str) -> list[dict]:
    return [json.loads(call.request.body) for call in wecom.calls if call.request.url.split("?")[0].endswith(path)]


def items(job_id: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    db.session.expire_all()
    return {(i.userid, i.external_userid): (i.status, i.reason) for i in db.session.scalars(
        select(BulkJobItem).where(BulkJobItem.job_id == job_id))}


def tags_of(userid: str, ext: str) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(RelationTag.tag_id).filter_by(
        corp_id=TEST_CORP_ID, userid=userid, external_userid=ext)))


def start(api, kind: str, customers=("wmA", "wmB", "wmC", "wmD"), **extra) -> dict:
    resp = api("POST", "/bulk-jobs", json={"kind": kind, "audience": {"external_userids": list(customers)}, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
