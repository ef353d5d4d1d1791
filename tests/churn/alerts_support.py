"""Shared by the churn alert tests: an org (a member, their department's leader), customers,
deletions delivered as WeCom callbacks, and message/send mocked at the HTTP boundary with
PROTOCOL.md §3.8's reply shape (tests/fixtures/wecom/message/send.json)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import ChurnAlert, Customer, Department, FollowRelation, Staff
from tests.churn.conftest import local
from tests.conftest import TEST_CORP_ID, WECOM_BASE
from tests.helpers import event_xml, post_callback, run_jobs, wecom_fixture

SEND_URL = WECOM_BASE + "message/send"
T0 = local("2026-03-10 10:00")  # a Tuesday morning, Shanghai


def org(*, manager: bool = True) -> None:
    """zhangsan (张三) in 销售一部 (2), led by wangwu (王五) when ``manager``; 总部 (1) above it."""
    db.session.add_all([Department(corp_id=TEST_CORP_ID, dept_id=1, name="总部", parent_id=0),
                        Department(corp_id=TEST_CORP_ID, dept_id=2, name="销售一部", parent_id=1)])
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三", status=1, department_ids=[2],
                         main_department=2, is_leader_in_dept=[0]))
    if manager:
        db.session.add(Staff(corp_id=TEST_CORP_ID, userid="wangwu", name="王五", status=1, department_ids=[2],
                             main_department=2, is_leader_in_dept=[1]))
    db.session.commit()


def customer(external_userid: str, name: str, userid: str = "zhangsan", remark: str | None = None) -> None:
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=external_userid, name=name))
    db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                                  remark=remark, status="active", added_at=T0 - timedelta(days=100)))
    db.session.commit()


def stamp(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp())


def deletion_xml(external_userid: str, *, userid: str = "zhangsan", at: datetime = T0,
                 change_type: str = "del_follow_user") -> str:
    return event_xml("change_external_contact", change_type, UserID=userid, ExternalUserID=external_userid,
                     create_time=stamp(at))


@pytest.fixture
def deliver(app, client):
    """Post plaintext callbacks (encrypted as WeCom would) and run the jobs they queued."""
    def deliver(*xmls: str) -> None:
        for xml in xmls:
            assert post_callback(client, xml).status_code == 200
        db.session.rollback()
        run_jobs(app)
        db.session.expire_all()
    return deliver


@pytest.fixture
def frozen(app):
    clock.freeze(T0)
    yield T0
    clock.freeze(None)


@pytest.fixture
def sent(wecom):
    """message/send: answers ``state["replies"]`` in turn (then the fixture's ok); the bodies."""
    state = {"bodies": [], "replies": []}

    def reply(request):
        state["bodies"].append(json.loads(request.body))
        body = state["replies"].pop(0) if state["replies"] else wecom_fixture("message/send")
        return 200, {}, json.dumps(body, ensure_ascii=False)

    wecom.add_callback(responses.POST, SEND_URL, callback=reply)
    return state


def to(state: dict, userid: str) -> list[dict]:
    return [body for body in state["bodies"] if body["touser"] == userid]


def text_of(body: dict) -> str:
    return body["text"]["content"] if body["msgtype"] == "text" else json.dumps(body[body["msgtype"]],
                                                                               ensure_ascii=False)


def alerts(**filters) -> list[ChurnAlert]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChurnAlert).filter_by(**filters).order_by(ChurnAlert.id)))
