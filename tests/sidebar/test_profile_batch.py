"""The customer view reads its parts in one statement (scrm/services/profile/reads.py): a profile
request is the session check, that batch and the audit row; and every part of the answer is what
the part's own read gives (scrm.batch_reads splits the UNION ALL back into the reads' rows)."""
from __future__ import annotations

from datetime import datetime, timedelta

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import (
    Channel,
    ChannelAdd,
    CustomerFieldValue,
    CustomerStage,
    CustomField,
    FollowUp,
    FunnelStage,
    Sop,
    SopEnrollment,
    SopStep,
    SopTask,
    StaffRole,
)
from scrm.services import library, profile, sop
from scrm.services.churn import score_corp
from scrm.services.profile.follow_ups import follow_up_rows
from scrm.services.profile.recall import recall_reminders
from tests.api.factories import (
    gen_customer,
    gen_event,
    gen_group,
    gen_member,
    gen_relation,
    gen_relation_tag,
    gen_staff,
    gen_tag,
    gen_timeline,
)
from tests.conftest import TEST_CORP_ID
from tests.helpers import count_queries
from tests.sidebar.conftest import login

T0 = datetime(2026, 11, 1, 1, 0)


def _rich_customer() -> str:
    """A customer with something in every part of the profile; ``zhangsan`` follows them."""
    customer = gen_customer(name="王总", external_userid="wmRich")
    gen_staff(userid="zhangsan", name="张三", department_ids=[1])
    gen_staff(userid="wangwu", name="王五", department_ids=[1])
    mine = gen_relation(customer, "zhangsan", remark="王总", remark_mobiles=["13812345678"], add_way=1,
                        state="ch1", added_at=utcnow() - timedelta(days=45), created_at=utcnow() - timedelta(days=45))
    gen_relation(customer, "wangwu", remark="老王", added_at=T0 + timedelta(minutes=5))
    gen_tag(tag_id="et1", name="重要", group_id="g1", group_name="客户等级")
    gen_relation_tag(mine, "et1", "重要")
    gen_relation_tag(mine, None, "老朋友")
    group = gen_group(name="客户群")
    gen_member(group, customer.external_userid, join_time=T0)
    gen_member(group, "zhangsan", type=1, join_time=T0)
    for n in range(25):  # more than a page
        gen_timeline(customer, "remark_changed", minutes=n, userid="zhangsan",
                     data={"changes": {"remark_mobiles": [[], ["13912345678"]]}})
    for n in range(7):
        db.session.add(FollowUp(corp_id=TEST_CORP_ID, userid="zhangsan" if n % 2 else "wangwu",
                                external_userid=customer.external_userid, kind="call", content=f"第{n}次",
                                next_at=T0 + timedelta(days=n), reminder_status="none",
                                created_at=T0 + timedelta(hours=n), updated_at=T0))
    channel = Channel(corp_id=TEST_CORP_ID, name="门店码", type=1, scene=2, state="ch1", userids=["zhangsan"],
                      tag_ids=[])
    stage = FunnelStage(corp_id=TEST_CORP_ID, name="需求确认", order=1)
    field = CustomField(corp_id=TEST_CORP_ID, key="budget", label="预算", type="number", order=1)
    sop_row = Sop(corp_id=TEST_CORP_ID, name="新客跟进", conditions={})
    db.session.add_all([channel, stage, field, sop_row])
    db.session.flush()
    db.session.add_all([
        ChannelAdd(corp_id=TEST_CORP_ID, channel_id=channel.id, event_id=gen_event().id, userid="zhangsan",
                   external_userid=customer.external_userid, state="ch1", added_at=T0),
        CustomerStage(corp_id=TEST_CORP_ID, external_userid=customer.external_userid, stage_id=stage.id),
        CustomerFieldValue(corp_id=TEST_CORP_ID, external_userid=customer.external_userid, field_id=field.id,
                           value="12.5")])
    enrollment = SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop_row.id, userid="zhangsan",
                               external_userid=customer.external_userid, added_at=T0)
    steps = [SopStep(corp_id=TEST_CORP_ID, sop_id=sop_row.id, position=n, anchor="added", attachments=[],
                     delivery="reminder") for n in range(2)]
    db.session.add_all([enrollment, *steps])
    db.session.flush()
    for step, status in zip(steps, ("sent", "pending"), strict=True):
        db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop_row.id, step_id=step.id, enrollment_id=enrollment.id,
                               userid="zhangsan", external_userid=customer.external_userid, delivery="reminder",
                               due_at=T0 + timedelta(days=1), status=status))
    db.session.commit()
    score_corp(TEST_CORP_ID, utcnow())  # a risk row for the relation
    return customer.external_userid


def test_a_profile_is_the_session_check_one_batch_and_the_audit_row(client):
    external_userid = _rich_customer()
    login(client, "zhangsan")
    assert client.get(f"/sidebar/api/customers/{external_userid}").status_code == 200  # corp options cached
    for role in (None, "manager"):  # a department manager who follows the customer reads no departments
        if role:
            db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role=role, data_scope="department"))
            db.session.commit()
        with count_queries() as seen:
            resp = client.get(f"/sidebar/api/customers/{external_userid}")
        assert resp.status_code == 200
        assert len(seen) <= 3, "\n".join(seen)
        body = resp.get_json()
        assert len(body["timeline"]["items"]) == 20 and body["timeline"]["next_before"] is not None
        assert [g["member_count"] for g in body["groups"]] == [2]
        assert body["channel"]["name"] == "门店码" and body["stage"]["current"]["name"] == "需求确认"
        assert body["fields"][0]["value"] == 12.5 and body["churn_risk"] is not None
        assert len(body["follow_ups"]) == 5 and [s["done"] for s in body["sops"]] == [1]


def test_every_part_of_the_batched_profile_is_what_its_own_read_gives(app):
    external_userid = _rich_customer()
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="sales", data_scope="self",
                             can_view_mobile=True))
    db.session.commit()
    view = profile.customer_view(TEST_CORP_ID, "zhangsan", external_userid, timeline_limit=7)
    corp, me = TEST_CORP_ID, "zhangsan"
    assert view["tags"] == profile.tags_view(corp, me, external_userid, editable=True)
    assert view["stage"] == profile.stage_view(corp, external_userid)
    assert view["fields"] == profile.fields_view(corp, external_userid)
    assert view["timeline"] == profile.timeline_page(corp, external_userid, limit=7, mask_mobiles=False)
    assert view["timeline"]["items"][0]["changes"][0]["to"] == "13912345678"  # this role sees mobiles
    assert isinstance(view["timeline"]["items"][0]["occurred_at"], datetime)
    assert view["sops"] == sop.summaries(corp, external_userid)
    assert view["sop_reminders"] == library.pending_reminders(corp, me, external_userid)
    assert view["churn_risk"] == profile.relation_risk(corp, me, external_userid)
    assert view["recall_reminders"] == recall_reminders(corp, me, external_userid)
    assert [f["id"] for f in view["follow_ups"]] == [r.id for r in follow_up_rows(
        corp, external_userid, 0, 5)]
    assert view["relation"]["remark_mobiles"] == ["13812345678"] and view["relation"]["added_at"] is not None
    assert [(c["userid"], c["name"]) for c in view["colleagues"]] == [("wangwu", "王五")]
    assert view["customer"]["name"] == "王总" and view["channel"]["name"] == "门店码"
    assert view["groups"] == [{"chat_id": view["groups"][0]["chat_id"], "name": "客户群", "joined_at": T0,
                               "member_count": 2}]
