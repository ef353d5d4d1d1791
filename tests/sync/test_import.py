"""A full import through every stage with multi-page cursors, and a second run that changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import (
    Customer,
    Department,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    TimelineEntry,
)


def count(model, **filters) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def relation(userid: str, external_userid: str) -> FollowRelation:
    return db.session.scalars(select(FollowRelation).filter_by(userid=userid, external_userid=external_userid)).one()


def tag_keys(userid: str, external_userid: str) -> set[str]:
    return set(db.session.scalars(select(RelationTag.tag_key)
                                  .filter_by(userid=userid, external_userid=external_userid)))


def test_full_import_reads_every_page_and_stores_everything(corp, run_sync):
    run = run_sync(full=True)

    assert run.status == "succeeded" and run.error_count == 0
    assert [run.progress[s]["status"] for s in ("staff", "tags", "customers", "groups")] == ["done"] * 4
    assert run.progress["customers"]["done"] == 6 and run.progress["customers"]["staff_done"] == 2
    assert (run.progress["groups"]["done"], run.progress["groups"]["total"]) == (3, 3)
    # staff and departments
    assert {s.userid: s.name for s in db.session.scalars(select(Staff))} == {
        "zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}
    assert count(Department) == 2
    # the tag library, and relation tags named from it (batch/get_by_user gives ids only)
    assert count(TagGroup) == 2 and count(Tag) == 3
    assert tag_keys("lisi", "wmC2") == {"etB", "etS"}
    tag = db.session.scalars(select(RelationTag).filter_by(userid="zhangsan", tag_key="etA")).one()
    assert (tag.tag_name, tag.group_name, tag.type) == ("A类", "客户等级", 1)
    # customers and relations
    assert count(Customer) == 5 and count(FollowRelation) == 6
    assert relation("zhangsan", "wmC1").remark == "老客户"
    assert relation("zhangsan", "wmC1").status == "active"
    assert db.session.scalars(select(Customer).filter_by(external_userid="wmC4")).one().name == "客户四"
    # groups and members
    assert count(GroupChat) == 3
    assert count(GroupMember, chat_id="wrG3") == 4
    # every change is on the timeline, from the sync
    kinds = db.session.execute(select(TimelineEntry.kind, TimelineEntry.source, func.count())
                               .group_by(TimelineEntry.kind, TimelineEntry.source)).all()
    assert sorted(kinds) == [("joined_group", "sync", 6), ("relation_added", "sync", 6)]


def test_cursor_paging_follows_next_cursor_per_staff_batch(corp, run_sync):
    run_sync()

    bodies = corp.called("externalcontact/batch/get_by_user")
    # one batch (2 members), 6 relations, 2 per page: cursors "", c2, c4
    assert [b["cursor"] for b in bodies] == ["", "c2", "c4"]
    assert all(b["userid_list"] == ["zhangsan", "lisi"] and b["limit"] == 100 for b in bodies)
    lists = corp.called("externalcontact/groupchat/list")
    assert [(b.get("cursor"), b["owner_filter"]["userid_list"]) for b in lists] == [
        (None, ["zhangsan", "lisi"]), ("c2", ["zhangsan", "lisi"])]
    assert sorted(b["chat_id"] for b in corp.called("externalcontact/groupchat/get")) == ["wrG1", "wrG2", "wrG3"]
    # department/list once, user/list for the top department only (fetch_child=1)
    assert [c["department_id"] for c in corp.called("user/list")] == ["1"]


@pytest.mark.parametrize(("concurrency", "sizes"), [(1, [50, 100]), (4, [36, 38, 38, 38]), (32, [10] * 15)])
def test_members_are_read_in_as_many_chains_as_the_concurrency_allows(fake, run_sync, concurrency, sizes):
    """At most 100 members per batch/get_by_user (WeCom's maximum), at least 10, and otherwise
    one chain per call in flight."""
    for n in range(150):
        fake.add_staff(f"s{n:03d}")
    fake.add_customer("wmX", "X", "s000", "s120")

    run = run_sync(["customers"], concurrency=concurrency)

    batches = sorted(len(b["userid_list"]) for b in fake.called("externalcontact/batch/get_by_user"))
    assert batches == sizes
    assert run.progress["customers"]["staff_done"] == 150
    assert {r.userid for r in db.session.scalars(select(FollowRelation))} == {"s000", "s120"}


def test_second_run_changes_nothing(corp, run_sync):
    run_sync(full=True)
    entries = count(TimelineEntry)
    stamps = {model.__name__: db.session.scalar(select(func.max(model.updated_at)))
              for model in (Customer, FollowRelation, GroupChat, GroupMember, Tag, TagGroup, Staff, Department)}
    rows = {model.__name__: count(model) for model in (Customer, FollowRelation, RelationTag, GroupMember)}

    second = run_sync(full=True)

    db.session.expire_all()
    assert second.status == "succeeded"
    assert count(TimelineEntry) == entries
    assert {model.__name__: db.session.scalar(select(func.max(model.updated_at)))
            for model in (Customer, FollowRelation, GroupChat, GroupMember, Tag, TagGroup, Staff,
                          Department)} == stamps
    assert {model.__name__: count(model) for model in (Customer, FollowRelation, RelationTag, GroupMember)} == rows
    # every relation and group was seen by the latest run
    assert set(db.session.scalars(select(FollowRelation.seen_run_id))) == {second.id}
    assert set(db.session.scalars(select(GroupChat.seen_run_id))) == {second.id}


def test_changes_in_wecom_are_applied_with_timeline_entries(corp, run_sync):
    run_sync()
    last = db.session.scalar(select(func.max(TimelineEntry.id)))
    corp.relation("zhangsan", "wmC1").remark = "大客户"
    corp.relation("zhangsan", "wmC1").tag_ids = ["etB"]
    corp.customers["wmC1"]["name"] = "客户一号"
    corp.groups["wrG2"].members.append({"userid": "wmC5", "type": 2, "join_time": 1700000200, "join_scene": 1})
    corp.groups["wrG2"].member_version = "v2"

    run_sync()

    assert relation("zhangsan", "wmC1").remark == "大客户"
    assert tag_keys("zhangsan", "wmC1") == {"etB"}
    entries = db.session.scalars(select(TimelineEntry).where(TimelineEntry.id > last).order_by(TimelineEntry.id)).all()
    assert [(e.kind, e.external_userid, e.source) for e in entries] == [
        ("customer_updated", "wmC1", "sync"), ("relation_updated", "wmC1", "sync"), ("joined_group", "wmC5", "sync")]
    assert entries[1].data["changes"]["remark"] == ["老客户", "大客户"]
    assert entries[1].data["changes"]["tags_added"][0]["key"] == "etB"


def test_absent_fields_keep_what_we_had(fake, run_sync):
    """Newer apps get no names from user/list: a sync must not erase or fail on them."""
    fake.add_staff("zhangsan")  # no "name" in the reply
    db.session.add(Staff(corp_id="wwtestcorp0000001", userid="zhangsan", name="张三（通讯录）"))
    db.session.commit()

    run = run_sync(["staff"])

    assert run.status == "succeeded"
    staff = db.session.scalars(select(Staff)).one()
    assert (staff.name, staff.position, staff.department_ids) == ("张三（通讯录）", "销售", [2])


def test_personal_tags_from_callbacks_survive_a_sync(corp, run_sync):
    run_sync(["tags", "customers"])
    db.session.add(RelationTag(corp_id="wwtestcorp0000001", userid="zhangsan", external_userid="wmC1",
                               tag_key="personal:老朋友", tag_name="老朋友", type=2))
    db.session.commit()

    run_sync(["customers"])

    assert tag_keys("zhangsan", "wmC1") == {"etA", "personal:老朋友"}
