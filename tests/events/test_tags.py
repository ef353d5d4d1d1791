"""change_external_tag: the corp tag library, rule-group tags, cascades to relation tags."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import RelationTag, Tag, TagGroup
from tests.conftest import TEST_CORP_ID
from tests.events.support import timeline
from tests.helpers import event_xml

LIST = "externalcontact/get_corp_tag_list"
STRATEGY_LIST = "externalcontact/get_strategy_tag_list"
GROUP1 = "etXXXXXXXXXXXXXXXXXXXXXXXXXXXXGROUP1"
TAG1, TAG2 = "etXXXXXXXXXXXXXXXXXXXXXXXXXXXXXTAG1", "etXXXXXXXXXXXXXXXXXXXXXXXXXXXXXTAG2"


def tag_event(change_type: str, item_id: str, tag_type: str | None = "tag", create_time: int = 1700000000,
              **fields) -> str:
    if tag_type:
        fields["TagType"] = tag_type
    return event_xml("change_external_tag", change_type, Id=item_id, create_time=create_time, **fields)


def tag(tag_id: str) -> Tag | None:
    return db.session.scalar(select(Tag).filter_by(tag_id=tag_id))


def group(group_id: str = GROUP1) -> TagGroup | None:
    return db.session.scalar(select(TagGroup).filter_by(group_id=group_id))


def put_on_customer(tag_id: str, external_userid: str = "wmCUSTOMER1", userid: str = "zhangsan") -> None:
    db.session.add(RelationTag(corp_id=TEST_CORP_ID, userid=userid, external_userid=external_userid,
                               tag_key=tag_id, tag_id=tag_id, tag_name="重要", group_name="客户等级", type=1))
    db.session.commit()


def test_tag_create_reads_that_tag(api, deliver):
    reply = api.fixture(LIST)
    reply["tag_group"][0]["tag"] = reply["tag_group"][0]["tag"][:1]  # WeCom returns only the asked tag
    api.reply(LIST, reply)
    row = deliver(tag_event("create", TAG1))

    assert row.status == "processed"
    assert api.bodies(LIST) == [{"tag_id": [TAG1]}]
    t = tag(TAG1)
    assert (t.corp_id, t.group_id, t.name, t.order, t.deleted, t.strategy_id) == (
        TEST_CORP_ID, GROUP1, "重要", 2, False, None)
    assert t.create_time == datetime(2019, 5, 14, 12, 59, 57)
    g = group()
    assert (g.name, g.order, g.deleted) == ("客户等级", 1, False)
    assert tag(TAG2) is None


def test_group_create_reads_the_group(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))

    assert api.bodies(LIST) == [{"group_id": [GROUP1]}]
    assert {t.tag_id for t in db.session.scalars(select(Tag))} == {TAG1, TAG2}


def test_tag_rename_updates_relation_tag_names(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    put_on_customer(TAG1)
    renamed = api.fixture(LIST)
    renamed["tag_group"][0]["tag"][0]["name"] = "非常重要"
    api.reply(LIST, renamed)
    deliver(tag_event("update", TAG1, create_time=1700000100))

    assert tag(TAG1).name == "非常重要"
    assert db.session.scalar(select(RelationTag.tag_name)) == "非常重要"
    assert timeline() == []  # the customer's tags did not change, only a name


def test_tag_callbacks_reach_the_cached_tag_library(api, deliver):
    from scrm.services.profile import corp_options

    def names():
        listed = [t["name"] for g in corp_options.options(TEST_CORP_ID).tag_groups for t in g["tags"]]
        db.session.rollback()  # (SQLite: no open read while the callback writes)
        return listed

    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    before = names()  # now cached for this version
    renamed = api.fixture(LIST)
    renamed["tag_group"][0]["tag"][0]["name"] = "非常重要"
    api.reply(LIST, renamed)
    deliver(tag_event("update", TAG1, create_time=1700000100))
    assert names() == ["非常重要"] + before[1:] and before[0] != "非常重要"
    deliver(tag_event("delete", TAG1, create_time=1700000200))
    assert names() == before[1:]


def test_tag_delete_removes_it_from_customers(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    put_on_customer(TAG1)
    row = deliver(tag_event("delete", TAG1))

    assert tag(TAG1).deleted is True and tag(TAG2).deleted is False
    assert db.session.query(RelationTag).count() == 0
    (entry,) = timeline("wmCUSTOMER1", "relation_updated")
    assert (entry.userid, entry.event_id, entry.data["reason"]) == ("zhangsan", row.id, "tag_deleted")
    assert entry.data["changes"]["tags_removed"][0]["key"] == TAG1
    assert len(api.calls(LIST)) == 1  # delete needs no read


def test_group_delete_cascades_to_its_tags(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    put_on_customer(TAG2, external_userid="wmCUSTOMER2")
    deliver(tag_event("delete", GROUP1, "tag_group"))

    assert group().deleted is True
    assert tag(TAG1).deleted is True and tag(TAG2).deleted is True
    assert db.session.query(RelationTag).count() == 0
    assert [e.kind for e in timeline("wmCUSTOMER2")] == ["relation_updated"]


def test_group_read_marks_tags_missing_from_it_deleted(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    smaller = api.fixture(LIST)
    smaller["tag_group"][0]["tag"] = smaller["tag_group"][0]["tag"][:1]
    api.reply(LIST, smaller)
    deliver(tag_event("update", GROUP1, "tag_group", create_time=1700000100))

    assert tag(TAG1).deleted is False and tag(TAG2).deleted is True


def test_shuffle_of_one_group_updates_orders(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    shuffled = api.fixture(LIST)
    tags = shuffled["tag_group"][0]["tag"]
    tags[0]["order"], tags[1]["order"] = 1, 2
    api.reply(LIST, shuffled)
    deliver(tag_event("shuffle", GROUP1, tag_type=None, create_time=1700000100))

    assert api.bodies(LIST)[-1] == {"group_id": [GROUP1]}
    assert (tag(TAG1).order, tag(TAG2).order) == (1, 2)


def test_shuffle_of_all_groups_rereads_everything(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    db.session.add(TagGroup(corp_id=TEST_CORP_ID, group_id="etOLDGROUP", name="旧", order=9))
    db.session.commit()
    everything = api.fixture(LIST)
    everything["tag_group"][0]["order"] = 7
    api.reply(LIST, everything)
    deliver(tag_event("shuffle", "", tag_type=None, create_time=1700000100))

    assert api.bodies(LIST)[-1] == {}
    assert group().order == 7
    assert group("etOLDGROUP").deleted is True  # a full read that lacks it: it is gone


def test_strategy_tag_uses_the_strategy_api(api, deliver):
    api.reply(STRATEGY_LIST)
    deliver(tag_event("create", "etXXXXXXXXXXXXXXXXXXXXXXXXXXXXSTRTAG1", StrategyId=1))

    assert api.bodies(STRATEGY_LIST) == [{"strategy_id": 1, "tag_id": ["etXXXXXXXXXXXXXXXXXXXXXXXXXXXXSTRTAG1"]}]
    assert api.calls(LIST) == []
    t = tag("etXXXXXXXXXXXXXXXXXXXXXXXXXXXXSTRTAG1")
    assert (t.name, t.strategy_id, t.group_id) == ("华东区", 1, "etXXXXXXXXXXXXXXXXXXXXXXXXXXSTRGROUP")
    assert group("etXXXXXXXXXXXXXXXXXXXXXXXXXXSTRGROUP").strategy_id == 1


def test_tag_gone_before_we_read_it_is_marked_deleted(api, deliver):
    api.reply(LIST)
    deliver(tag_event("create", GROUP1, "tag_group"))
    api.reply(LIST, {"errcode": 0, "errmsg": "ok", "tag_group": []})
    deliver(tag_event("update", TAG2, create_time=1700000100))

    assert tag(TAG2).deleted is True and tag(TAG1).deleted is False


def test_same_tag_event_three_times_reads_once(api, deliver):
    api.reply(LIST)
    row = deliver(tag_event("create", GROUP1, "tag_group"), times=3)

    assert row.status == "processed"
    assert len(api.calls(LIST)) == 1
    assert db.session.query(Tag).count() == 2
