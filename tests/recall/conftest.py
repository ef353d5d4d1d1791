"""Recall playbook fixtures: the operator API, relations seeded as the sync and callbacks store
them (tests/churn's helpers), and `flask scrm tick --now …` (every sweep: the nightly churn
scoring after SCRM_CHURN_SCORING_AT, then the recall sweep) followed by the messages worker at
that time. WeCom is mocked at the HTTP boundary with PROTOCOL.md's reply shapes."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm.config import override
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationRisk, RelationTag
from scrm.services.churn import nightly
from tests.api.factories import gen_token
from tests.conftest import TEST_CORP_ID
from tests.sop.conftest import tick_runner
from tests.welcome.support import OK, url

MASS, TASK, RESULT, SEND = ("externalcontact/add_msg_template", "externalcontact/get_groupmsg_task",
                            "externalcontact/get_groupmsg_send_result", "message/send")


@pytest.fixture
def recall_app(app, monkeypatch):
    override(app, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None, CHURN_SCORING_AT="04:30")
    monkeypatch.setattr(nightly, "real_sleep", lambda seconds: None)
    return app


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


@pytest.fixture
def wecom_ok(wecom):
    """WeCom accepting what a recall sends: behaviour figures (empty), message/send, add_msg_template."""
    wecom.add(responses.POST, url("externalcontact/get_user_behavior_data"), json={**OK, "behavior_data": []})
    wecom.add(responses.POST, url(SEND), json={**OK, "invaliduser": "", "msgid": "APPMSG"})
    wecom.add(responses.POST, url(MASS), json={**OK, "fail_list": [], "msgid": "msgRECALL1"})
    return wecom


@pytest.fixture
def tick(recall_app, runner):
    """`flask scrm tick --now AT`, then the messages worker as of AT. Returns the tick's counts."""
    return tick_runner(recall_app, runner)


def customer(external_userid: str, name: str) -> None:
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid=external_userid, name=name, type=1))


def tag(userid: str, external_userid: str, tag_id: str) -> None:
    db.session.add(RelationTag(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid, tag_key=tag_id,
                               tag_id=tag_id, tag_name=tag_id, type=1))


def entered(userid: str, external_userid: str, level: str, at: datetime, *, reason: str = "silent",
            status: str = "active", previous: str = "active") -> FollowRelation:
    """A relation (added a year before ``at``) that the nightly scoring moved into ``level`` at ``at``."""
    row = FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid, status=status,
                         added_at=at - timedelta(days=365), created_at=at - timedelta(days=365))
    db.session.add(row)
    db.session.flush()
    db.session.add(RelationRisk(corp_id=TEST_CORP_ID, relation_id=row.id, userid=userid,
                                external_userid=external_userid, level=level, previous_level=previous,
                                level_changed_at=at, scored_at=at, reason=reason))
    return row


def move(row: FollowRelation, level: str, at: datetime) -> None:
    """The nightly scoring moved the relation to ``level`` at ``at``."""
    risk = db.session.scalar(select(RelationRisk).filter_by(relation_id=row.id))
    risk.previous_level, risk.level, risk.level_changed_at = risk.level, level, at
