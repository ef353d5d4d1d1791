"""change_contact: staff, departments, userid renames."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import (
    AppMessage,
    Department,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationTag,
    Staff,
    TimelineEntry,
)
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml

T0 = datetime(2023, 11, 14, 22, 13, 20)


def contact_event(change_type: str, create_time: int = 1700000000, **fields) -> str:
    return event_xml("change_contact", change_type, create_time=create_time, **fields)


def staff(userid: str) -> Staff | None:
    return db.session.scalar(select(Staff).filter_by(userid=userid))


def test_create_user_from_payload(deliver, api):
    row = deliver(contact_event(
        "create_user", UserID="zhangsan", Name="张三", Department="1,2,3", MainDepartment=1,
        IsLeaderInDept="1,0,0", Position="产品经理", Mobile="13800000000", Gender=1, Email="zs@example.com",
        Status=1, Avatar="http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0",
        Alias="zhangsan_alias", Telephone="020-123456"))

    assert row.status == "processed"
    s = staff("zhangsan")
    assert (s.corp_id, s.name, s.department_ids, s.main_department, s.position, s.mobile, s.gender,
            s.email, s.status, s.alias) == (TEST_CORP_ID, "张三", [1, 2, 3], 1, "产品经理", "13800000000", 1,
                                            "zs@example.com", 1, "zhangsan_alias")
    assert s.avatar.startswith("http://wx.qlogo.cn/")
    assert api.api_calls() == []


def test_update_user_changes_only_fields_present(deliver):
    deliver(contact_event("create_user", UserID="zhangsan", Name="张三", Position="产品经理", Department="1"))
    deliver(contact_event("update_user", UserID="zhangsan", Position="总监", Alias="", create_time=1700000100))

    s = staff("zhangsan")
    assert (s.name, s.position, s.alias, s.department_ids) == ("张三", "总监", None, [1])


def test_userid_rename_moves_every_reference(deliver):
    corp = TEST_CORP_ID
    db.session.add_all([
        Staff(corp_id=corp, userid="zhangsan", name="张三"),
        FollowRelation(corp_id=corp, userid="zhangsan", external_userid="wmA", oper_userid="zhangsan"),
        FollowRelation(corp_id=corp, userid="lisi", external_userid="wmB", oper_userid="zhangsan"),
        RelationTag(corp_id=corp, userid="zhangsan", external_userid="wmA", tag_key="etTAG", tag_id="etTAG"),
        GroupChat(corp_id=corp, chat_id="wrCHAT", owner="zhangsan", admin_userids=["zhangsan2x", "zhangsan"]),
        GroupMember(corp_id=corp, chat_id="wrCHAT", member_id="zhangsan", type=1),
        GroupMember(corp_id=corp, chat_id="wrCHAT", member_id="wmA", type=2, invitor="zhangsan"),
        TimelineEntry(corp_id=corp, external_userid="wmA", userid="zhangsan", kind="relation_added",
                      source="callback", occurred_at=T0),
        AppMessage(corp_id=corp, event_id=1, from_userid="zhangsan", msg_type="text"),
        # Another corp's zhangsan is someone else.
        Staff(corp_id="wwothercorp", userid="zhangsan"),
    ])
    db.session.commit()

    row = deliver(contact_event("update_user", UserID="zhangsan", NewUserID="zhangsan_new", Position="总监"))

    assert row.status == "processed"
    assert staff("zhangsan_new").position == "总监" and staff("zhangsan_new").name == "张三"
    assert db.session.scalar(select(Staff.corp_id).filter_by(userid="zhangsan")) == "wwothercorp"
    assert set(db.session.execute(select(FollowRelation.userid, FollowRelation.oper_userid)).all()) == {
        ("zhangsan_new", "zhangsan_new"), ("lisi", "zhangsan_new")}
    assert db.session.scalar(select(RelationTag.userid)) == "zhangsan_new"
    group_chat = db.session.scalar(select(GroupChat))
    assert (group_chat.owner, group_chat.admin_userids) == ("zhangsan_new", ["zhangsan2x", "zhangsan_new"])
    assert set(db.session.execute(select(GroupMember.member_id, GroupMember.invitor)).all()) == {
        ("zhangsan_new", None), ("wmA", "zhangsan_new")}
    assert db.session.scalar(select(TimelineEntry.userid)) == "zhangsan_new"
    assert db.session.scalar(select(AppMessage.from_userid)) == "zhangsan_new"


def test_rename_onto_rows_already_stored_under_the_new_id(deliver):
    corp = TEST_CORP_ID
    db.session.add_all([
        FollowRelation(corp_id=corp, userid="old", external_userid="wmA", remark="stale"),
        FollowRelation(corp_id=corp, userid="new", external_userid="wmA", remark="fresh"),
        FollowRelation(corp_id=corp, userid="old", external_userid="wmB", remark="only old"),
    ])
    db.session.commit()
    row = deliver(contact_event("update_user", UserID="old", NewUserID="new"))

    assert row.status == "processed"
    assert set(db.session.execute(select(FollowRelation.external_userid, FollowRelation.remark)
                                  .filter_by(userid="new")).all()) == {("wmA", "fresh"), ("wmB", "only old")}
    assert db.session.query(FollowRelation).filter_by(userid="old").count() == 0


def test_delete_user_sets_left_at(deliver):
    deliver(contact_event("create_user", UserID="zhangsan", Name="张三"))
    deliver(contact_event("delete_user", UserID="zhangsan", create_time=1700000100))

    s = staff("zhangsan")
    assert s.left_at == datetime(2023, 11, 14, 22, 15)
    assert s.name == "张三"  # the row stays for history and the handover


def test_department_lifecycle(deliver):
    deliver(contact_event("create_party", Id=2, Name="销售部", ParentId=1, Order=100))
    deliver(contact_event("update_party", Id=2, Name="大客户销售部", create_time=1700000100))
    row = deliver(contact_event("delete_party", Id=2, create_time=1700000200))

    assert row.status == "processed"
    dept = db.session.scalar(select(Department))
    assert (dept.corp_id, dept.dept_id, dept.name, dept.parent_id, dept.order) == (
        TEST_CORP_ID, 2, "大客户销售部", 1, 100)
    assert dept.deleted_at == datetime(2023, 11, 14, 22, 16, 40)


def test_contact_tag_change_is_ignored(deliver):
    row = deliver(contact_event("update_tag", TagId=1, AddUserItems="zhangsan,lisi", DelPartyItems="2"))

    assert (row.status, row.attempts, row.last_error) == ("ignored", 1, None)
