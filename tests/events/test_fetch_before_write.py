"""No WeCom call while the handler's write transaction is open (issue #10, reliability 1): a
slow WeCom, or a wait on its token lock, would hold SQLite's write lock (every other writer,
the callback view's inbox insert included, waits) or PostgreSQL row locks that long."""
from __future__ import annotations

import json

import responses

from scrm.extensions import db
from scrm.models import Channel
from scrm.services import channels
from tests.conftest import TEST_CORP_ID
from tests.events.support import WeComStub
from tests.helpers import event_xml
from tests.welcome.support import OK, add_event, contact_reply, gen_tags, url


def writing() -> bool:
    """Whether the session's transaction has written anything yet."""
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":  # pysqlite begins at the first write: the write lock
        return conn.connection.dbapi_connection.in_transaction
    return conn.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar() is not None


def answer(mock: responses.RequestsMock, method: str, path: str, body: dict, seen: list) -> None:
    def reply(request):
        seen.append((path, writing()))
        return 200, {}, json.dumps(body)

    mock.add_callback(method, url(path), callback=reply)


def test_customer_and_channel_handlers_call_wecom_before_they_write(app, wecom, deliver):
    gen_tags(("etVIP", "展会客户"))
    wecom.add(responses.POST, url("externalcontact/add_contact_way"), json={**OK, "config_id": "CFG1"})
    channels.create(TEST_CORP_ID, {"name": "展会", "type": 1, "scene": 2, "state": "expo2024",
                                   "userids": ["zhangsan"], "tag_ids": ["etVIP"]})
    assert db.session.query(Channel).count() == 1
    db.session.commit()
    seen: list = []
    answer(wecom, "GET", "externalcontact/get", contact_reply("wmNEW1", "小王", state="expo2024"), seen)
    answer(wecom, "POST", "externalcontact/mark_tag", OK, seen)

    assert deliver(add_event("wmNEW1", state="expo2024", code=None)).status == "processed"
    assert deliver(event_xml("change_external_contact", "edit_external_contact", UserID="zhangsan",
                             ExternalUserID="wmNEW1")).status == "processed"
    assert seen == [("externalcontact/get", False), ("externalcontact/mark_tag", False),
                    ("externalcontact/get", False)]


def test_the_chat_handler_calls_wecom_before_it_writes(app, wecom, deliver):
    seen: list = []
    answer(wecom, "POST", "externalcontact/groupchat/get",
           WeComStub.fixture("externalcontact/groupchat/get"), seen)
    chat_id = WeComStub.fixture("externalcontact/groupchat/get")["group_chat"]["chat_id"]
    assert deliver(event_xml("change_external_chat", "create", ChatId=chat_id)).status == "processed"
    assert deliver(event_xml("change_external_chat", "update", ChatId=chat_id, UpdateDetail="change_name",
                             create_time=1700000100)).status == "processed"
    assert seen == [("externalcontact/groupchat/get", False)] * 2
