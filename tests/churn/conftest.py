"""Churn scoring fixtures: relations seeded as the sync and callbacks store them, interactions
(follow-ups, archived 1:1 messages, SOP sends), WeCom's behaviour endpoint mocked at the HTTP
boundary (reply shape: docs/wecom/api.md#statistics), and `flask scrm tick --now` with the other
nightly sweeps off. Times are Asia/Shanghai (the default SCRM_TIMEZONE)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import ArchivedMessage, FollowRelation, FollowUp, Staff
from scrm.services.churn import nightly
from tests.conftest import TEST_CORP_ID, WECOM_BASE

SHANGHAI = timezone(timedelta(hours=8))
BEHAVIOUR_URL = WECOM_BASE + "externalcontact/get_user_behavior_data"
MARK_TAG_URL = WECOM_BASE + "externalcontact/mark_tag"


def local(text: str) -> datetime:
    """'2026-01-01 09:00' Shanghai time → naive UTC (as rows store it)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def churn_app(app, monkeypatch):
    override(app, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None, CHURN_SCORING_AT="04:30")
    monkeypatch.setattr(nightly, "real_sleep", lambda seconds: None)
    return app


def relation(userid: str, external_userid: str, added: str, **kw) -> FollowRelation:
    row = FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                         added_at=local(added), created_at=local(added), **kw)
    db.session.add(row)
    return row


def staff(*userids: str) -> None:
    db.session.add_all(Staff(corp_id=TEST_CORP_ID, userid=u, name=u, status=1) for u in userids)


def follow_up(userid: str, external_userid: str, at: str) -> None:
    db.session.add(FollowUp(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid, kind="chat",
                            content="电话沟通", created_at=local(at), updated_at=local(at)))


_seq = iter(range(1, 10**9))


def message(sender: str, to: str, at: str, *, roomid: str | None = None, action: str = "send") -> None:
    n = next(_seq)
    db.session.add(ArchivedMessage(corp_id=TEST_CORP_ID, seq=n, msgid=f"msg{n}", action=action, from_id=sender,
                                   roomid=roomid, peer_id=None if roomid else to, msgtype="text",
                                   msgtime=local(at), body={"msgtype": "text"}))


@pytest.fixture
def behaviour(wecom):
    """get_user_behavior_data answering one row per day asked (figures from the userid's length);
    ``errors`` queues errcodes to answer first."""
    state = {"bodies": [], "errors": []}

    def reply(request):
        body = json.loads(request.body)
        state["bodies"].append(body)
        if state["errors"]:
            return 200, {}, json.dumps({"errcode": state["errors"].pop(0), "errmsg": "busy"})
        rows = [{"stat_time": day, "new_apply_cnt": 1, "new_contact_cnt": 1, "chat_cnt": len(body["userid"][0]),
                 "message_cnt": 20, "reply_percentage": 87.5, "avg_reply_time": 12,
                 "negative_feedback_cnt": 1 if body["userid"][0] == "lisi" else 0}
                for day in range(body["start_time"], body["end_time"] + 1, 86400)]
        return 200, {}, json.dumps({"errcode": 0, "errmsg": "ok", "behavior_data": rows})

    wecom.add_callback(responses.POST, BEHAVIOUR_URL, callback=reply)
    return state


@pytest.fixture
def tick(churn_app, runner):
    """`flask scrm tick --now AT` (every sweep, the churn run among them); returns its counts."""
    def run(at: datetime) -> dict:
        result = runner.invoke(args=["scrm", "tick", "--now", at.isoformat()])
        assert result.exit_code == 0, result.output
        clock.freeze(None)
        db.session.expire_all()
        return json.loads(result.output)
    return run


from tests.churn.alerts_support import deliver, frozen, sent  # noqa: E402, F401 - the churn alert tests' fixtures
