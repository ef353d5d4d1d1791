"""Fixtures for the group SOP tests: the Open API, groups and members as the sync / callbacks
leave them, and `flask scrm tick --now` followed by the messages worker at that time."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
import responses

from scrm.config import override
from scrm.extensions import db
from scrm.models import GroupSopExecution, Staff
from tests.api.factories import gen_group
from tests.conftest import TEST_CORP_ID
from tests.sop.conftest import api, tick  # noqa: F401 - the same Open API caller and tick
from tests.welcome.support import OK, bodies, url

MASS, TASK, RESULT, SEND = ("externalcontact/add_msg_template", "externalcontact/get_groupmsg_task",
                            "externalcontact/get_groupmsg_send_result", "message/send")
MON = datetime(2026, 11, 2, 0, 0)  # Monday 2 November 2026, 08:00 in Shanghai

__all__ = ["MASS", "MON", "OK", "RESULT", "SEND", "TASK", "bodies", "executions", "url"]


@pytest.fixture(autouse=True)
def only_sop_sweeps(app):
    """The nightly sync and group statistics are other tests' business: off here, so a tick at
    any hour calls WeCom for SOPs only."""
    override(app, NIGHTLY_SYNC_AT=None, GROUP_STATS_AT=None)


@pytest.fixture
def groups(app):
    """Two owners: zhangsan owns wrA, wrB (福利群); lisi owns wrC (VIP群)."""
    db.session.add_all([Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name="张三", status=1),
                        Staff(corp_id=TEST_CORP_ID, userid="lisi", name="李四", status=1)])
    db.session.commit()
    return {"wrA": gen_group(chat_id="wrA", name="福利群1", owner="zhangsan"),
            "wrB": gen_group(chat_id="wrB", name="福利群2", owner="zhangsan"),
            "wrC": gen_group(chat_id="wrC", name="VIP群", owner="lisi")}


@pytest.fixture
def mass_ok(wecom):
    """add_msg_template accepts everything: msgids msgG1, msgG2, ..."""
    counter = iter(range(1, 10_000))

    def reply(request):
        return 200, {}, json.dumps({**OK, "fail_list": [], "msgid": f"msgG{next(counter)}"})
    wecom.add_callback(responses.POST, url(MASS), callback=reply, content_type="application/json")
    return wecom


def executions(**filters) -> list[GroupSopExecution]:
    from sqlalchemy import select
    db.session.expire_all()
    return list(db.session.scalars(select(GroupSopExecution).filter_by(**filters)
                                   .order_by(GroupSopExecution.due_at, GroupSopExecution.chat_id,
                                             GroupSopExecution.member_id)))
