"""Helpers for the welcome / channel / SOP tests: WeCom replies built per test, tag library rows."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Staff, Tag, TagGroup, TimelineEntry
from tests.conftest import TEST_CORP_ID, WECOM_BASE
from tests.helpers import event_xml

OK = {"errcode": 0, "errmsg": "ok"}


def url(path: str) -> str:
    return WECOM_BASE + path


def contact_reply(external_userid: str, name: str, userid: str = "zhangsan", state: str = "",
                  createtime: int = 1700000000, tags: list | None = None) -> dict:
    return {**OK, "external_contact": {"external_userid": external_userid, "name": name, "type": 1, "gender": 1},
            "follow_user": [{"userid": userid, "remark": "", "description": "", "createtime": createtime,
                             "tags": tags or [], "remark_mobiles": [], "oper_userid": external_userid,
                             "add_way": 1, "state": state}],
            "next_cursor": ""}


def add_event(external_userid: str = "wmNEW1", *, state: str = "", code: str | None = "WELCOMECODE",
              userid: str = "zhangsan", create_time: int = 1700000000) -> str:
    fields = {"UserID": userid, "ExternalUserID": external_userid, "State": state}
    if code:
        fields["WelcomeCode"] = code
    return event_xml("change_external_contact", "add_external_contact", create_time=create_time, **fields)


def gen_tags(*tags: tuple[str, str], group: tuple[str, str] = ("etGROUP1", "来源")) -> None:
    db.session.add(TagGroup(corp_id=TEST_CORP_ID, group_id=group[0], name=group[1]))
    for tag_id, name in tags:
        db.session.add(Tag(corp_id=TEST_CORP_ID, tag_id=tag_id, group_id=group[0], name=name))
    db.session.commit()


def gen_staff(userid: str = "zhangsan", name: str = "张三") -> None:
    db.session.add(Staff(corp_id=TEST_CORP_ID, userid=userid, name=name))
    db.session.commit()


def calls(mock: responses.RequestsMock, path: str) -> list:
    wanted = urlsplit(url(path)).path
    return [c for c in mock.calls if urlsplit(c.request.url).path == wanted]


def bodies(mock: responses.RequestsMock, path: str) -> list[dict]:
    return [json.loads(c.request.body) for c in calls(mock, path)]


def params(mock: responses.RequestsMock, path: str) -> list[dict]:
    return [{k: v[0] for k, v in parse_qs(urlsplit(c.request.url).query).items() if k != "access_token"}
            for c in calls(mock, path)]


def kinds(external_userid: str) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(TimelineEntry.kind).filter_by(external_userid=external_userid)
                                   .order_by(TimelineEntry.id)))


def entry(external_userid: str, kind: str) -> TimelineEntry:
    return db.session.scalars(select(TimelineEntry).filter_by(external_userid=external_userid, kind=kind)).one()
