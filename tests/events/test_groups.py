"""change_external_chat: group chats, members, member versions, timeline."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import GroupChat, GroupMember
from scrm.services import inbox
from tests.events.support import timeline
from tests.helpers import event_xml

CHAT = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
CUSTOMER = "wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"
NEWCOMER = "wmNEWCOMERAAAAAAAAAAAAAAAAAAAAAA"
GET = "externalcontact/groupchat/get"
V1, V2, V3 = "71217227bbd112ecfe3a49c482195cb4", "v2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v3bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
T0 = datetime(2023, 11, 14, 22, 13, 20)


def chat_event(change_type: str, create_time: int = 1700000000, **fields) -> str:
    return event_xml("change_external_chat", change_type, ChatId=CHAT, create_time=create_time, **fields)


def member_event(detail: str, last: str, cur: str, changed: list[str], create_time: int, **fields) -> str:
    return chat_event("update", create_time, UpdateDetail=detail, MemChangeCnt=len(changed),
                      MemChangeList=changed, LastMemVer=last, CurMemVer=cur, **fields)


def group_reply(api, version: str, *, with_newcomer: bool = False, without_customer: bool = False,
                **changes) -> dict:
    reply = api.fixture(GET)
    group = reply["group_chat"]
    group.update(member_version=version, **changes)
    if with_newcomer:
        group["member_list"].append({"userid": NEWCOMER, "type": 2, "join_time": 1700000050, "join_scene": 3,
                                     "name": "赵六", "group_nickname": ""})
    if without_customer:
        group["member_list"] = [m for m in group["member_list"] if m["userid"] != CUSTOMER]
    return reply


def member(member_id: str) -> GroupMember | None:
    return db.session.scalar(select(GroupMember).filter_by(chat_id=CHAT, member_id=member_id))


def chat() -> GroupChat:
    return db.session.scalar(select(GroupChat).filter_by(chat_id=CHAT))


def test_create_fetches_group_and_members(api, deliver):
    api.reply(GET)
    row = deliver(chat_event("create"))

    assert row.status == "processed"
    assert api.bodies(GET) == [{"chat_id": CHAT, "need_name": 1}]
    c = chat()
    assert (c.name, c.owner, c.notice, c.admin_userids, c.member_version, c.status) == (
        "销售客服群", "zhangsan", "文档详情", ["sam", "pony"], V1, "active")
    assert c.create_time == datetime(2019, 10, 31, 7, 4, 50)
    m = member(CUSTOMER)
    assert (m.type, m.name, m.group_nickname, m.join_scene, m.invitor, m.state, m.unionid, m.quit_time) == (
        2, "王五", "顾客", 1, "zhangsan", "group_qr_1", "ozynqsulJFCZ2z1aYeS8h-nuasdAAA", None)
    assert member("zhangsan").type == 1
    # Only customers get timeline entries.
    (entry,) = timeline(kind="joined_group")
    assert (entry.external_userid, entry.userid, entry.event_id) == (CUSTOMER, "zhangsan", row.id)
    assert entry.data["chat_name"] == "销售客服群" and entry.data["join_scene"] == 1


def test_member_join_and_leave(api, deliver):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GET, group_reply(api, V2, with_newcomer=True))
    joined = deliver(member_event("add_member", V1, V2, [NEWCOMER], 1700000050, JoinScene=3))
    api.reply(GET, group_reply(api, V3, with_newcomer=True, without_customer=True))
    left = deliver(member_event("del_member", V2, V3, [CUSTOMER], 1700000100, QuitScene=1))

    assert joined.status == left.status == "processed"
    assert member(NEWCOMER).join_scene == 3 and member(NEWCOMER).quit_time is None
    gone = member(CUSTOMER)
    assert (gone.quit_time, gone.quit_scene) == (T0 + timedelta(seconds=100), 1)
    assert chat().member_version == V3
    (entry,) = timeline(NEWCOMER, "joined_group")
    assert entry.event_id == joined.id
    (entry,) = timeline(CUSTOMER, "left_group")
    assert (entry.event_id, entry.data["quit_scene"], entry.data["chat_name"]) == (left.id, 1, "销售客服群")


def test_event_already_applied_skips_the_fetch(api, deliver):
    api.reply(GET, group_reply(api, V2, with_newcomer=True))
    deliver(chat_event("create"))  # the create's fetch already shows version V2
    row = deliver(member_event("add_member", V1, V2, [NEWCOMER], 1700000050, JoinScene=0))

    assert row.status == "processed"
    assert len(api.calls(GET)) == 1
    assert len(timeline(NEWCOMER, "joined_group")) == 1


def test_name_change_is_fetched_even_when_member_version_is_unchanged(api, deliver):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GET, group_reply(api, V1, name="新群名"))
    deliver(member_event("change_name", V1, V1, [], 1700000050))

    assert len(api.calls(GET)) == 2
    assert chat().name == "新群名"


def test_lost_member_event_is_detected_and_repaired(api, deliver, caplog):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    # V1 -> V2 (NEWCOMER joins) never reaches us; V2 -> V3 (CUSTOMER leaves) does.
    api.reply(GET, group_reply(api, V3, with_newcomer=True, without_customer=True))
    with caplog.at_level(logging.WARNING, logger="scrm.services.events.groups"):
        row = deliver(member_event("del_member", V2, V3, [CUSTOMER], 1700000100, QuitScene=0))

    assert row.status == "processed"
    assert any("member version gap" in r.getMessage() and V1 in r.getMessage() for r in caplog.records)
    assert member(NEWCOMER) is not None and member(NEWCOMER).quit_time is None  # repaired
    assert member(CUSTOMER).quit_scene == 0
    assert len(timeline(NEWCOMER, "joined_group")) == 1
    assert chat().member_version == V3


def test_lagging_groupchat_get_is_retried_then_applied(api, deliver):
    clock.freeze(T0)
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GET, group_reply(api, V1), group_reply(api, V2, with_newcomer=True))
    row = deliver(member_event("add_member", V1, V2, [NEWCOMER], 1700000050, JoinScene=0))

    assert row.status == "pending" and V2 in row.last_error
    assert member(NEWCOMER) is None
    clock.freeze(T0 + timedelta(seconds=10))
    assert inbox.process(row.id) == "processed"
    db.session.expire_all()
    assert member(NEWCOMER) is not None
    assert chat().member_version == V2


def test_lagging_groupchat_get_is_accepted_after_a_few_attempts(api, deliver):
    clock.freeze(T0)
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    row = deliver(member_event("add_member", V1, V2, [NEWCOMER], 1700000050, JoinScene=0))
    for seconds in (10, 20):
        clock.freeze(T0 + timedelta(seconds=seconds))
        status = inbox.process(row.id)
    assert status == "processed"
    assert len(api.calls(GET)) == 4  # create + three attempts
    db.session.expire_all()
    assert chat().member_version == V1  # what WeCom said; the next event repairs the rest


def test_same_update_delivered_three_times_is_one_effect(api, deliver):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GET, group_reply(api, V2, with_newcomer=True))
    deliver(member_event("add_member", V1, V2, [NEWCOMER], 1700000050, JoinScene=0), times=3)

    assert len(api.calls(GET)) == 2
    assert len(timeline(NEWCOMER, "joined_group")) == 1


def test_member_rejoining_gets_a_new_join(api, deliver):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    api.reply(GET, group_reply(api, V2, without_customer=True))
    deliver(member_event("del_member", V1, V2, [CUSTOMER], 1700000050, QuitScene=0))
    api.reply(GET, group_reply(api, V3))
    deliver(member_event("add_member", V2, V3, [CUSTOMER], 1700000100, JoinScene=3))

    assert member(CUSTOMER).quit_time is None and member(CUSTOMER).quit_scene is None
    assert [e.kind for e in timeline(CUSTOMER)] == ["joined_group", "left_group", "joined_group"]


def test_dismiss_keeps_members_and_records_it(api, deliver):
    api.reply(GET, group_reply(api, V1))
    deliver(chat_event("create"))
    row = deliver(chat_event("dismiss", 1700000100))
    deliver(chat_event("dismiss", 1700000200))  # a resend: no second effect

    c = chat()
    assert (c.status, c.dismissed_at) == ("dismissed", T0 + timedelta(seconds=100))
    assert member(CUSTOMER).quit_time is None
    (entry,) = timeline(CUSTOMER, "group_dismissed")
    assert entry.event_id == row.id
    assert len(api.calls(GET)) == 1


def test_permanent_error_fails_the_row(api, deliver):
    api.error(GET, 40050, method="POST")  # chatid不存在
    row = deliver(chat_event("create"))

    assert row.status == "failed"
    assert "40050" in row.last_error
    assert chat() is None
