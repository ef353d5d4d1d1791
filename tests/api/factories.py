"""Cheap `gen_*` helpers: rows straight through the models, committed, with sensible defaults."""
from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta
from typing import Any

from scrm.extensions import db
from scrm.models import (
    ApiToken,
    CallbackEvent,
    Customer,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    TimelineEntry,
)
from scrm.services.tokens import hash_token
from tests.conftest import TEST_CORP_ID

OTHER_CORP_ID = "wwothercorp000002"
T0 = datetime(2024, 5, 1, 8, 30, 0)
_seq = itertools.count(1)


def _save(row: Any) -> Any:
    db.session.add(row)
    db.session.commit()
    return row


def gen_token(corp_id: str = TEST_CORP_ID, *, name: str = "test", revoked: bool = False) -> str:
    token = "scrm_" + secrets.token_urlsafe(16)
    _save(ApiToken(corp_id=corp_id, name=name, token_hash=hash_token(token),
                   revoked_at=T0 if revoked else None))
    return token


def gen_customer(corp_id: str = TEST_CORP_ID, **kw: Any) -> Customer:
    n = next(_seq)
    values = {"external_userid": f"wm{n:06d}", "name": f"Customer {n}", "type": 1, "gender": 1,
              "created_at": T0, "updated_at": T0}
    return _save(Customer(corp_id=corp_id, **{**values, **kw}))


def gen_staff(corp_id: str = TEST_CORP_ID, **kw: Any) -> Staff:
    n = next(_seq)
    return _save(Staff(corp_id=corp_id, **{"userid": f"staff{n}", "name": f"员工{n}", **kw}))


def gen_relation(customer: Customer, userid: str, **kw: Any) -> FollowRelation:
    values = {"added_at": T0, "status": "active", "created_at": T0, "updated_at": T0}
    return _save(FollowRelation(corp_id=customer.corp_id, userid=userid,
                                external_userid=customer.external_userid, **{**values, **kw}))


def gen_relation_tag(relation: FollowRelation, tag_id: str | None, name: str, **kw: Any) -> RelationTag:
    return _save(RelationTag(corp_id=relation.corp_id, userid=relation.userid,
                             external_userid=relation.external_userid,
                             tag_key=tag_id or f"personal:{name}", tag_id=tag_id, tag_name=name,
                             type=1 if tag_id else 2, **kw))


def gen_tag(corp_id: str = TEST_CORP_ID, *, tag_id: str, name: str, group_id: str,
            group_name: str) -> Tag:
    _save(TagGroup(corp_id=corp_id, group_id=group_id, name=group_name))
    return _save(Tag(corp_id=corp_id, tag_id=tag_id, group_id=group_id, name=name))


def gen_group(corp_id: str = TEST_CORP_ID, **kw: Any) -> GroupChat:
    n = next(_seq)
    values = {"chat_id": f"wr{n:06d}", "name": f"Group {n}", "owner": "zhangsan", "status": "active",
              "create_time": T0, "created_at": T0, "updated_at": T0}
    return _save(GroupChat(corp_id=corp_id, **{**values, **kw}))


def gen_member(group: GroupChat, member_id: str, **kw: Any) -> GroupMember:
    values = {"type": 2, "join_time": T0, "join_scene": 3}
    return _save(GroupMember(corp_id=group.corp_id, chat_id=group.chat_id, member_id=member_id,
                             **{**values, **kw}))


def gen_timeline(customer: Customer, kind: str, *, minutes: int = 0, **kw: Any) -> TimelineEntry:
    return _save(TimelineEntry(corp_id=customer.corp_id, external_userid=customer.external_userid,
                               kind=kind, source=kw.pop("source", "callback"),
                               occurred_at=T0 + timedelta(minutes=minutes), **kw))


def gen_event(corp_id: str = TEST_CORP_ID, **kw: Any) -> CallbackEvent:
    n = next(_seq)
    values = {"dedupe_key": f"key-{n}", "event": "change_external_contact",
              "change_type": "add_external_contact", "payload": f"<xml><n>{n}</n></xml>",
              "status": "pending", "received_at": T0}
    return _save(CallbackEvent(corp_id=corp_id, **{**values, **kw}))
