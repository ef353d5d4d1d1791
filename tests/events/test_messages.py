"""App messages and app events from staff; unknown events."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import AppMessage
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, message_xml

T0 = datetime(2023, 11, 14, 22, 13, 20)


def app_event_xml(event: str, from_user: str = "zhangsan", **fields) -> str:
    """An app event: MsgType=event, sent by a member (not `sys`), with AgentID."""
    return event_xml(event, from_user=from_user, AgentID=1000002, **fields)


@pytest.mark.parametrize(("msg_type", "fields", "content"), [
    ("text", {"Content": "<b>hi</b> & bye"}, {"Content": "<b>hi</b> & bye"}),
    ("image", {"PicUrl": "http://example.com/a.jpg", "MediaId": "MEDIA1"},
     {"PicUrl": "http://example.com/a.jpg", "MediaId": "MEDIA1"}),
    ("voice", {"MediaId": "MEDIA2", "Format": "amr"}, {"MediaId": "MEDIA2", "Format": "amr"}),
    ("video", {"MediaId": "MEDIA3", "ThumbMediaId": "THUMB"}, {"MediaId": "MEDIA3", "ThumbMediaId": "THUMB"}),
    ("location", {"Location_X": "23.134521", "Location_Y": "113.358803", "Scale": "20", "Label": "广州"},
     {"Location_X": "23.134521", "Location_Y": "113.358803", "Scale": "20", "Label": "广州"}),
    ("link", {"Title": "标题", "Description": "描述", "Url": "http://example.com", "PicUrl": "http://p"},
     {"Title": "标题", "Description": "描述", "Url": "http://example.com", "PicUrl": "http://p"}),
    ("file", {"MediaId": "MEDIA4"}, {"MediaId": "MEDIA4"}),
])
def test_app_message_is_stored(deliver, msg_type, fields, content):
    row = deliver(message_xml(msg_type, "1234567890123456", **fields))

    assert row.status == "processed"
    message = db.session.scalar(select(AppMessage))
    assert (message.corp_id, message.event_id, message.agent_id, message.msg_id, message.from_userid,
            message.msg_type, message.sent_at) == (
        TEST_CORP_ID, row.id, 1000002, "1234567890123456", "zhangsan", msg_type, T0)
    assert message.content == content


def test_message_redelivered_is_stored_once(deliver):
    deliver(message_xml("text", "42", Content="hello"), times=3)

    assert db.session.query(AppMessage).count() == 1


def test_enter_agent_is_stored(deliver):
    row = deliver(app_event_xml("enter_agent", EventKey=""))

    assert row.status == "processed"
    message = db.session.scalar(select(AppMessage))
    assert (message.msg_type, message.from_userid, message.msg_id, message.content) == (
        "event:enter_agent", "zhangsan", None, {"EventKey": None})


def test_menu_click_is_stored(deliver):
    deliver(app_event_xml("click", EventKey="MY_CUSTOMERS"))

    assert db.session.scalar(select(AppMessage.content)) == {"EventKey": "MY_CUSTOMERS"}


@pytest.mark.parametrize("xml", [
    event_xml("change_external_contact", "some_future_change", UserID="zhangsan", ExternalUserID="wmA"),
    event_xml("brand_new_event"),
    message_xml("miniprogram", "777"),
])
def test_unknown_events_are_ignored(deliver, api, xml):
    row = deliver(xml)

    assert (row.status, row.last_error) == ("ignored", None)
    assert row.processed_at is not None
    assert api.api_calls() == []
    assert db.session.query(AppMessage).count() == 0
