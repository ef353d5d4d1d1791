"""A small corp for the customer list's tests (and the browser test): departments, staff,
customers with relations, tags, stages, channels, churn risk and groups."""
from __future__ import annotations

from datetime import datetime

from scrm.extensions import db
from scrm.models import (
    Channel,
    Customer,
    CustomerStage,
    Department,
    FollowRelation,
    FunnelStage,
    GroupChat,
    GroupCode,
    GroupCodeChat,
    GroupDailyStat,
    GroupLabel,
    GroupLabelLink,
    GroupMember,
    RelationRisk,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    TimelineEntry,
)
from tests.conftest import TEST_CORP_ID

C = TEST_CORP_ID


def seed() -> dict:
    """Relations (staff → customer): alice→c1 (tags vip+hot, stage 1, channel A, active, 2026-01-10),
    alice→c2 (vip, dormant, 2026-02-10), bob→c2 (hot, 2026-03-10, channel B), bob→c3 (no tags,
    deleted_by_customer), carol→c4 (vip+hot, stage 2, lost, 2026-04-10, mobile 13800001111)."""
    db.session.add_all([
        Department(corp_id=C, dept_id=1, name="总部", parent_id=0),
        Department(corp_id=C, dept_id=2, name="销售部", parent_id=1),
        Department(corp_id=C, dept_id=3, name="华东组", parent_id=2),
        Department(corp_id=C, dept_id=4, name="客服部", parent_id=1),
        Staff(corp_id=C, userid="alice", name="爱丽丝", status=1, department_ids=[3]),
        Staff(corp_id=C, userid="bob", name="鲍勃", status=1, department_ids=[2]),
        Staff(corp_id=C, userid="carol", name="卡罗尔", status=1, department_ids=[4]),
        TagGroup(corp_id=C, group_id="g1", name="客户等级"),
        Tag(corp_id=C, tag_id="vip", group_id="g1", name="VIP"),
        Tag(corp_id=C, tag_id="hot", group_id="g1", name="高意向"),
    ])
    stages = [FunnelStage(corp_id=C, name="初步接触", order=0), FunnelStage(corp_id=C, name="已成交", order=1)]
    channels = [Channel(corp_id=C, name="门店海报", type=1, scene=2, state="poster", userids=["alice"], tag_ids=[]),
                Channel(corp_id=C, name="官网", type=1, scene=2, state="web", userids=["bob"], tag_ids=[])]
    db.session.add_all(stages + channels)
    for i, name in enumerate(["王小明", "李雷", "韩梅梅", "<b>Zoe</b>"], start=1):
        db.session.add(Customer(corp_id=C, external_userid=f"wmc{i}", name=name, type=1))
    relations = [
        ("alice", "wmc1", datetime(2026, 1, 10), "active", "poster", "老客户", None),
        ("alice", "wmc2", datetime(2026, 2, 10), "active", None, None, None),
        ("bob", "wmc2", datetime(2026, 3, 10), "active", "web", "李总", None),
        ("bob", "wmc3", datetime(2026, 3, 20), "deleted_by_customer", None, None, None),
        ("carol", "wmc4", datetime(2026, 4, 10), "active", None, None, ["13800001111"]),
    ]
    rows = {}
    for userid, ext, added, status, state, remark, mobiles in relations:
        row = FollowRelation(corp_id=C, userid=userid, external_userid=ext, added_at=added, status=status,
                             state=state, remark=remark, remark_mobiles=mobiles)
        db.session.add(row)
        rows[(userid, ext)] = row
    db.session.flush()
    for (userid, ext), tags in {("alice", "wmc1"): ["vip", "hot"], ("alice", "wmc2"): ["vip"],
                                ("bob", "wmc2"): ["hot"], ("carol", "wmc4"): ["vip", "hot"]}.items():
        for tag in tags:
            db.session.add(RelationTag(corp_id=C, userid=userid, external_userid=ext, tag_key=tag, tag_id=tag,
                                       tag_name=tag, type=1))
    db.session.add(RelationTag(corp_id=C, userid="bob", external_userid="wmc2", tag_key="personal:熟人",
                               tag_name="熟人", type=2))
    db.session.add_all([CustomerStage(corp_id=C, external_userid="wmc1", stage_id=stages[0].id),
                        CustomerStage(corp_id=C, external_userid="wmc4", stage_id=stages[1].id)])
    for (userid, ext), level, last in [(("alice", "wmc1"), "active", datetime(2026, 5, 1)),
                                       (("alice", "wmc2"), "dormant", datetime(2026, 3, 1)),
                                       (("carol", "wmc4"), "lost", None)]:
        db.session.add(RelationRisk(corp_id=C, relation_id=rows[(userid, ext)].id, userid=userid,
                                    external_userid=ext, level=level, last_interaction_at=last))
    db.session.add(TimelineEntry(corp_id=C, external_userid="wmc1", userid="alice", kind="relation_added",
                                 source="callback", occurred_at=datetime(2026, 1, 10), summary="扫码添加"))
    _groups(stages)
    db.session.commit()
    return {"stages": [s.id for s in stages], "channels": [c.id for c in channels]}


def _groups(_stages) -> None:
    db.session.add_all([
        GroupChat(corp_id=C, chat_id="wrg1", name="VIP客户群", owner="alice", create_time=datetime(2026, 1, 5)),
        GroupChat(corp_id=C, chat_id="wrg2", name="售后群", owner="bob", create_time=datetime(2026, 6, 5)),
        GroupMember(corp_id=C, chat_id="wrg1", member_id="alice", type=1, join_time=datetime(2026, 1, 5)),
        GroupMember(corp_id=C, chat_id="wrg1", member_id="wmc1", type=2, name="王小明",
                    join_time=datetime(2026, 1, 6)),
        GroupMember(corp_id=C, chat_id="wrg1", member_id="wmc2", type=2, name="李雷",
                    join_time=datetime(2026, 1, 7), quit_time=datetime(2026, 1, 9)),
        GroupMember(corp_id=C, chat_id="wrg2", member_id="bob", type=1, join_time=datetime(2026, 6, 5)),
    ])
    label = GroupLabel(corp_id=C, name="高价值")
    code = GroupCode(corp_id=C, name="活动群码", state="gc1")
    db.session.add_all([label, code])
    db.session.flush()
    db.session.add_all([GroupLabelLink(corp_id=C, label_id=label.id, chat_id="wrg1"),
                        GroupCodeChat(corp_id=C, group_code_id=code.id, chat_id="wrg2")])
    for day, members, joins, leaves in [(6, 2, 1, 0), (7, 3, 1, 0), (9, 2, 0, 1)]:
        db.session.add(GroupDailyStat(corp_id=C, chat_id="wrg1", owner="alice", day=datetime(2026, 1, day).date(),
                                      members=members, customers=members - 1, staff=1, joins=joins, leaves=leaves))
