"""The one callback-XML builder (sandbox.callback_xml): what the service's parser reads back."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox import callback_xml
from scrm.extensions import db
from scrm.models import CallbackEvent, Staff
from scrm.wecom.crypto import parse_xml
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, run_jobs

HOSTILE = [
    "a]]>b",
    "]]>",
    "]]]]>",
    "x]]><Injected>1</Injected><![CDATA[y",
    "张三]]>]]><&amp;>\"'",
    "]]><!ENTITY x 'boom'>",
]


def test_strings_cdata_numbers_bare_lists_items_none_left_out():
    xml = callback_xml.to_xml({"Event": "change_contact", "CreateTime": 1700000000, "Ratio": 1.5,
                               "MemChangeList": ["wmA", "wmB"], "Missing": None, "Empty": ""})
    assert xml == ("<xml><Event><![CDATA[change_contact]]></Event><CreateTime>1700000000</CreateTime>"
                   "<Ratio>1.5</Ratio><MemChangeList><Item><![CDATA[wmA]]></Item><Item><![CDATA[wmB]]></Item>"
                   "</MemChangeList><Empty><![CDATA[]]></Empty></xml>")


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError):
        callback_xml.to_xml({"Flag": True})
    with pytest.raises(TypeError):
        callback_xml.to_xml({"Nested": {"a": "b"}})


def test_cdata_terminator_is_split_so_it_cannot_break_out():
    assert callback_xml.cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip_through_the_service_parser(value):
    fields = parse_xml(callback_xml.to_xml({"Name": value, "List": [value, "plain"], "After": "kept"}))
    assert fields["Name"] == value
    assert fields["List"]["Item"] == [value, "plain"]
    assert fields["After"] == "kept"
    assert set(fields) == {"Name", "List", "After"}  # nothing injected


def test_event_and_message_envelopes():
    event = parse_xml(callback_xml.event_xml("wwcorp", "change_external_contact", "add_external_contact",
                                             create_time=1700000000, UserID="zhangsan", WelcomeCode=None))
    assert event == {"ToUserName": "wwcorp", "FromUserName": "sys", "CreateTime": "1700000000",
                     "MsgType": "event", "Event": "change_external_contact",
                     "ChangeType": "add_external_contact", "UserID": "zhangsan"}
    no_change_type = parse_xml(callback_xml.event_xml("wwcorp", "msgaudit_notify", create_time=1, AgentID=7))
    assert "ChangeType" not in no_change_type and no_change_type["AgentID"] == "7"
    message = callback_xml.message_xml("wwcorp", "text", from_user="lisi", msg_id=4561255354251345929,
                                       agent_id=1000002, create_time=1, Content="hi]]>there")
    assert "<MsgId>4561255354251345929</MsgId>" in message
    assert parse_xml(message)["Content"] == "hi]]>there"


def test_hostile_value_reaches_the_service_unchanged_through_the_callback_endpoint(app, client):
    """Encrypted, posted, stored in the inbox and processed: the staff member's name is the value."""
    name = "张]]><Name>evil</Name><![CDATA[三"
    xml = event_xml("change_contact", "create_user", UserID="zhangsan", Name=name, Position="a]]>b")
    assert post_callback(client, xml).status_code == 200
    db.session.rollback()
    run_jobs(app)
    db.session.expire_all()
    row = db.session.scalars(select(CallbackEvent)).one()
    assert (row.payload, row.status) == (xml, "processed")
    staff = db.session.scalar(select(Staff).filter_by(corp_id=TEST_CORP_ID, userid="zhangsan"))
    assert (staff.name, staff.position) == (name, "a]]>b")
