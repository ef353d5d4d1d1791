"""change_external_contact: customers, relations, relation tags and their timeline."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationTag
from scrm.services import inbox
from tests.conftest import TEST_CORP_ID
from tests.events.support import timeline
from tests.helpers import event_xml

EXTERNAL = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"
GET = "externalcontact/get"
T0 = datetime(2023, 11, 14, 22, 13, 20)  # = CreateTime 1700000000, the helpers' default


def contact_event(change_type: str, userid: str = "zhangsan", **fields) -> str:
    return event_xml("change_external_contact", change_type, UserID=userid, ExternalUserID=EXTERNAL, **fields)


def add_event(**fields) -> str:
    return contact_event("add_external_contact", State="teststate", WelcomeCode="WELCOMECODE", **fields)


def relation(userid: str = "zhangsan") -> FollowRelation | None:
    return db.session.scalar(select(FollowRelation).filter_by(userid=userid, external_userid=EXTERNAL))


def tag_keys(userid: str = "zhangsan") -> set[str]:
    return set(db.session.scalars(select(RelationTag.tag_key).filter_by(userid=userid, external_userid=EXTERNAL)))


def test_add_fetches_contact_and_upserts_customer_relations_and_tags(api, deliver):
    api.reply(GET, method="GET")
    row = deliver(add_event())

    assert row.status == "processed"
    assert api.params(GET) == [{"external_userid": EXTERNAL}]
    customer = db.session.scalar(select(Customer))
    assert (customer.corp_id, customer.external_userid, customer.name, customer.type, customer.corp_name) == (
        TEST_CORP_ID, EXTERNAL, "李四", 2, "腾讯")
    rel = relation()
    assert (rel.status, rel.remark, rel.description, rel.remark_corp_name, rel.remark_mobiles) == (
        "active", "李部长", "对接采购事务", "腾讯科技", ["13800000001"])
    assert (rel.add_way, rel.state, rel.oper_userid, rel.added_at) == (1, "teststate", "zhangsan", T0)
    assert tag_keys() == {"etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "personal:老朋友"}
    personal = db.session.scalar(select(RelationTag).filter_by(tag_key="personal:老朋友"))
    assert (personal.tag_id, personal.type) == (None, 2)
    assert relation("rocky").status == "active"  # the customer's other relation, from the same reply

    entries = timeline(EXTERNAL, "relation_added")
    assert [(e.userid, e.source, e.event_id, e.occurred_at) for e in entries] == [
        ("zhangsan", "callback", row.id, T0), ("rocky", "callback", row.id, T0)]
    assert entries[0].data == {"state": "teststate", "add_way": 1, "re_added": False,
                               "change_type": "add_external_contact", "welcome_code": True}
    assert entries[1].data["discovered"] is True
    # Sending the welcome message is not this handler's job.
    assert api.api_calls() == [GET]


def test_same_add_delivered_three_times_has_one_effect(api, deliver):
    api.reply(GET, method="GET")
    row = deliver(add_event(), times=3)

    assert row.status == "processed"
    assert len(api.calls(GET)) == 1
    assert len(timeline(EXTERNAL, "relation_added")) == 2  # zhangsan + rocky, once each
    assert db.session.query(FollowRelation).count() == 2


def test_add_follows_cursor_pages(api, deliver):
    first, second = api.fixture(GET), api.fixture(GET)
    first["follow_user"], first["next_cursor"] = first["follow_user"][:1], "CURSOR2"
    second["follow_user"] = second["follow_user"][1:]
    api.reply(GET, first, second, method="GET")
    deliver(add_event())

    assert api.params(GET) == [{"external_userid": EXTERNAL}, {"external_userid": EXTERNAL, "cursor": "CURSOR2"}]
    assert relation("zhangsan").status == relation("rocky").status == "active"


def test_84061_right_after_add_is_retried_then_processed(api, deliver):
    clock.freeze(T0)
    api.error(GET, 84061, method="GET")
    api.reply(GET, method="GET")
    row = deliver(add_event())

    assert row.status == "pending"
    assert "84061" in row.last_error
    assert row.locked_until == T0 + timedelta(seconds=5)
    assert relation() is None
    assert inbox.process(row.id) == "skipped"  # still locked: not before the delay

    clock.freeze(T0 + timedelta(seconds=6))
    assert inbox.process(row.id) == "processed"
    db.session.expire_all()
    assert relation().status == "active"
    assert len(api.calls(GET)) == 2
    assert len(timeline(EXTERNAL, "relation_added")) == 2


def test_84061_forever_fails_the_row_at_the_attempt_cap(api, deliver):
    clock.freeze(T0)
    api.error(GET, 84061, method="GET")
    row = deliver(add_event())
    for attempt in range(2, inbox.MAX_ATTEMPTS + 1):
        clock.freeze(T0 + timedelta(seconds=10 * attempt))
        inbox.process(row.id)
    db.session.expire_all()
    assert (row.status, row.attempts) == ("failed", inbox.MAX_ATTEMPTS)
    assert "84061" in row.last_error
    assert relation() is None


def test_permanent_wecom_error_fails_the_row_with_errcode(api, deliver):
    api.error(GET, 48002, method="GET")  # API接口无权限调用
    row = deliver(add_event())

    assert row.status == "failed"
    assert "48002" in row.last_error
    assert len(api.calls(GET)) == 1  # not retried
    assert db.session.query(Customer).count() == 0
    assert timeline() == []


def test_add_waits_for_the_pair_to_appear_in_follow_user(api, deliver):
    clock.freeze(T0)
    lagging = api.fixture(GET)
    lagging["follow_user"] = [f for f in lagging["follow_user"] if f["userid"] != "zhangsan"]
    api.reply(GET, lagging, api.fixture(GET), method="GET")
    row = deliver(add_event())
    assert row.status == "pending" and "zhangsan" in row.last_error

    clock.freeze(T0 + timedelta(seconds=6))
    assert inbox.process(row.id) == "processed"
    db.session.expire_all()
    assert relation().remark == "李部长"


def test_readd_after_deletion_reactivates_relation(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    deliver(contact_event("del_follow_user", create_time=1700000100))
    assert relation().status == "deleted_by_customer"

    row = deliver(add_event(create_time=1700000200))
    rel = relation()
    assert (rel.status, rel.status_changed_at) == ("active", T0 + timedelta(seconds=200))
    entry = timeline(EXTERNAL, "relation_added")[-1]
    assert (entry.event_id, entry.userid) == (row.id, "zhangsan")
    assert entry.data["re_added"] is True and entry.data["previous_status"] == "deleted_by_customer"
    assert [e.kind for e in timeline(EXTERNAL) if e.userid == "zhangsan"] == [
        "relation_added", "deleted_by_customer", "relation_added"]


def test_edit_records_what_changed(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    edited = api.fixture(GET)
    mine = edited["follow_user"][0]
    mine["remark"] = "李总"
    mine["tags"] = [mine["tags"][1], {"group_name": "客户等级", "tag_name": "普通", "tag_id": "etTAG2", "type": 1}]
    api.reply(GET, edited, method="GET")

    row = deliver(contact_event("edit_external_contact", create_time=1700000100))
    (entry,) = timeline(EXTERNAL, "relation_updated")
    assert (entry.userid, entry.event_id) == ("zhangsan", row.id)
    assert entry.data["changes"] == {
        "remark": ["李部长", "李总"],
        "tags_added": [{"key": "etTAG2", "name": "普通", "group_name": "客户等级"}],
        "tags_removed": [{"key": "etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "name": "重要", "group_name": "客户等级"}],
    }
    assert relation().remark == "李总"
    assert tag_keys() == {"etTAG2", "personal:老朋友"}


def test_edit_with_nothing_changed_records_nothing(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    before = len(timeline())
    row = deliver(contact_event("edit_external_contact", create_time=1700000100))

    assert row.status == "processed"
    assert len(api.calls(GET)) == 2  # it did re-read
    assert len(timeline()) == before


def test_customer_profile_change_is_recorded(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    renamed = api.fixture(GET)
    renamed["external_contact"]["name"] = "李四<script>"
    api.reply(GET, renamed, method="GET")
    deliver(contact_event("edit_external_contact", create_time=1700000100))

    assert db.session.scalar(select(Customer.name)) == "李四<script>"  # stored as-is
    (entry,) = timeline(EXTERNAL, "customer_updated")
    assert entry.data == {"changes": {"name": ["李四", "李四<script>"]}}


def test_del_external_contact_marks_deleted_by_staff(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    row = deliver(contact_event("del_external_contact", create_time=1700000100))

    rel = relation()
    assert (rel.status, rel.status_changed_at) == ("deleted_by_staff", T0 + timedelta(seconds=100))
    (entry,) = timeline(EXTERNAL, "deleted_by_staff")
    assert (entry.userid, entry.event_id, entry.data["previous_status"]) == ("zhangsan", row.id, "active")
    assert api.api_calls() == [GET]  # only the add's fetch


def test_delete_by_transfer_marks_transferred(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    deliver(contact_event("del_external_contact", Source="DELETE_BY_TRANSFER", create_time=1700000100))

    assert relation().status == "transferred"
    (entry,) = timeline(EXTERNAL, "transferred")
    assert entry.data["source"] == "DELETE_BY_TRANSFER"


def test_deletion_of_unknown_relation_keeps_the_fact(deliver, api):
    row = deliver(contact_event("del_follow_user"))

    assert row.status == "processed"
    rel = relation()
    assert (rel.corp_id, rel.status, rel.status_changed_at) == (TEST_CORP_ID, "deleted_by_customer", T0)
    assert db.session.scalar(select(Customer.external_userid)) == EXTERNAL
    (entry,) = timeline(EXTERNAL, "deleted_by_customer")
    assert entry.data == {"previous_status": None}
    assert api.api_calls() == []


def test_deletion_resent_with_another_create_time_is_one_effect(deliver):
    deliver(contact_event("del_follow_user"))
    deliver(contact_event("del_follow_user", create_time=1700000005))

    assert len(timeline(EXTERNAL, "deleted_by_customer")) == 1
    assert relation().status_changed_at == T0


def test_stale_deletion_does_not_undo_a_later_add(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event(create_time=1700000200))
    deliver(contact_event("del_external_contact", create_time=1700000100))  # arrives late

    assert relation().status == "active"
    assert timeline(EXTERNAL, "deleted_by_staff") == []


def test_a_deletion_in_the_second_a_sync_stamped_the_relation_applies(deliver):
    """CreateTime has whole seconds: a sync that wrote the pair 0.4 s into that second is not newer."""
    db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid=EXTERNAL,
                                  status="active", status_changed_at=T0 + timedelta(milliseconds=400)))
    db.session.commit()
    deliver(contact_event("del_follow_user"))  # CreateTime = T0

    assert relation().status == "deleted_by_customer"
    assert len(timeline(EXTERNAL, "deleted_by_customer")) == 1


def test_transfer_fail_stores_reason(api, deliver):
    api.reply(GET, method="GET")
    deliver(add_event())
    deliver(contact_event("transfer_fail", FailReason="customer_refused", create_time=1700000100))

    assert relation().transfer_fail_reason == "customer_refused"
    (entry,) = timeline(EXTERNAL, "transfer_failed")
    assert (entry.userid, entry.data) == ("zhangsan", {"reason": "customer_refused"})


def test_msg_audit_approved_sets_consent_time(deliver):
    row = deliver(contact_event("msg_audit_approved", WelcomeCode="WELCOMECODE"))
    deliver(contact_event("msg_audit_approved", WelcomeCode="WELCOMECODE", create_time=1700000100))

    assert db.session.scalar(select(Customer.msg_audit_approved_at)) == T0
    (entry,) = timeline(EXTERNAL, "msg_audit_approved")
    assert entry.event_id == row.id


def test_add_half_external_contact_is_an_add(api, deliver):
    api.reply(GET, method="GET")
    deliver(contact_event("add_half_external_contact", State="teststate"))

    assert relation().status == "active"
    entry = timeline(EXTERNAL, "relation_added")[0]
    assert entry.data["change_type"] == "add_half_external_contact"
    assert entry.data["welcome_code"] is False
