"""Full sync: what WeCom no longer lists is marked gone, only after a clean pass of its stage."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FollowRelation, GroupChat, GroupMember, RelationTag, Tag, TagGroup, TimelineEntry


def status(userid: str, external_userid: str) -> str:
    return db.session.scalars(select(FollowRelation.status).filter_by(
        userid=userid, external_userid=external_userid)).one()


def entries(kind: str) -> list[TimelineEntry]:
    return list(db.session.scalars(select(TimelineEntry).filter_by(kind=kind).order_by(TimelineEntry.id)))


def test_a_relation_removed_in_wecom_is_marked_after_a_clean_full_pass(corp, run_sync):
    run_sync()
    corp.remove_relation("zhangsan", "wmC2")  # lisi still has wmC2

    run_sync()  # not full: upserts only
    assert status("zhangsan", "wmC2") == "active"

    run = run_sync(full=True)

    assert run.status == "succeeded" and run.progress["customers"]["gone"] == 1
    assert status("zhangsan", "wmC2") == "deleted_unknown"
    assert status("lisi", "wmC2") == "active"
    (entry,) = entries("deleted_unknown")
    assert (entry.external_userid, entry.userid, entry.source) == ("wmC2", "zhangsan", "sync")
    assert entry.data == {"previous_status": "active"}
    # WeCom was asked about that customer before the relation was marked
    assert [c["external_userid"] for c in corp.called("externalcontact/get")] == ["wmC2"]
    # the API can filter on the new status
    assert db.session.query(FollowRelation).filter_by(status="deleted_unknown").count() == 1


def test_nothing_is_marked_when_the_pass_had_errors(corp, run_sync):
    run_sync()
    corp.remove_relation("zhangsan", "wmC3")
    corp.unlicensed = ["lisi"]  # fail_info: lisi's customers were not all returned

    run = run_sync(full=True)

    assert run.progress["customers"]["errors"] == 1
    assert run.progress["customers"]["reconcile"] == "skipped: the pass had errors"
    assert status("zhangsan", "wmC3") == "active"
    assert entries("deleted_unknown") == []
    assert corp.called("externalcontact/get") == []


def test_a_relation_wecom_still_knows_is_not_marked(corp, run_sync):
    """The pass missed it (paging while data changes can skip rows): the check finds it."""
    run_sync()
    hidden = corp.relation("lisi", "wmC4")
    corp.remove_relation("lisi", "wmC4")
    corp.on_call["externalcontact/get"] = lambda args: corp.relations.append(hidden)

    run = run_sync(full=True)

    assert status("lisi", "wmC4") == "active"
    assert run.progress["customers"]["gone"] == 0
    assert db.session.scalars(select(FollowRelation.seen_run_id).filter_by(
        userid="lisi", external_userid="wmC4")).one() == run.id


def test_relations_of_members_the_app_does_not_list_are_left_alone(corp, run_sync):
    run_sync()
    corp.follow_users.remove("lisi")  # left, or now outside the app's visibility
    corp.relations = [r for r in corp.relations if r.userid != "lisi"]

    run_sync(full=True)

    assert {status("lisi", e) for e in ("wmC2", "wmC4", "wmC5")} == {"active"}


def test_a_group_gone_from_wecom_is_dismissed_after_a_clean_pass(corp, run_sync):
    run_sync()
    del corp.groups["wrG2"]

    run = run_sync(["groups"], full=True)

    assert run.progress["groups"]["gone"] == 1
    chat = db.session.scalars(select(GroupChat).filter_by(chat_id="wrG2")).one()
    assert chat.status == "dismissed" and chat.dismissed_at is not None
    assert db.session.query(GroupMember).filter_by(chat_id="wrG2").count() == 2  # members kept
    assert [(e.external_userid, e.source) for e in entries("group_dismissed")] == [("wmC3", "sync")]
    assert [c["chat_id"] for c in corp.called("externalcontact/groupchat/get")][-1] == "wrG2"  # checked first


def test_no_group_is_dismissed_when_another_group_failed(corp, run_sync):
    run_sync()
    del corp.groups["wrG2"]
    corp.fail_chat("wrG1", 60011)

    run = run_sync(["groups"], full=True)

    assert run.progress["groups"]["errors"] == 1
    assert db.session.scalars(select(GroupChat.status).filter_by(chat_id="wrG2")).one() == "active"


def test_a_tag_deleted_in_wecom_is_deleted_and_taken_off_customers(corp, run_sync):
    run_sync()
    corp.tag_groups[0]["tag"] = [t for t in corp.tag_groups[0]["tag"] if t["id"] != "etA"]  # etA deleted
    corp.tag_groups.pop(1)  # the whole group etG2 (etS) deleted
    for relation in corp.relations:
        relation.tag_ids = [t for t in relation.tag_ids if t not in ("etA", "etS")]

    run_sync(["tags"])  # not full: nothing deleted
    assert db.session.scalars(select(Tag.deleted).filter_by(tag_id="etA")).one() is False

    run_sync(["tags"], full=True)

    assert {t.tag_id: t.deleted for t in db.session.scalars(select(Tag))} == {"etA": True, "etB": False, "etS": True}
    assert db.session.scalars(select(TagGroup.deleted).filter_by(group_id="etG2")).one() is True
    assert set(db.session.scalars(select(RelationTag.tag_key))) == {"etB"}
    removed = [(e.external_userid, e.userid, e.data["reason"], e.source) for e in entries("relation_updated")]
    assert sorted(removed) == [("wmC1", "zhangsan", "tag_deleted", "sync"), ("wmC2", "lisi", "tag_deleted", "sync"),
                               ("wmC2", "zhangsan", "tag_deleted", "sync")]
