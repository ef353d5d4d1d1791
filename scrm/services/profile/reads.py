"""The customer view's reads in one statement (scrm.batch_reads: UNION ALL of the reads, split
again by read). A profile used to make ~16 small statements, and each one's fixed cost
(SQLAlchemy, the driver, the round trip) was more worker CPU than the read (bench/sidebar.py):
now the session check, this batch and the audit row, plus the rare reads of the paths that need
more (a follow-up author who follows no longer, a relation the customer ended, a manager
looking at a customer they do not follow, the first read of a corp's options).

Each read is its owner's statement, built once and bound per call: the parameters are the
viewer (``userid``), the customer (``corp_id``, ``external_userid``) and the timeline page's
``limit``. The batch reads every part even when the check then refuses the view (nothing of it
is returned) or a part is not shown (the recall reminders of a relation the customer ended)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.orm import aliased

from scrm.batch_reads import BatchRead
from scrm.models import (
    Channel,
    ChannelAdd,
    CustomerFieldValue,
    CustomerStage,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationTag,
    Staff,
)
from scrm.services import churn, library, policy, sop
from scrm.services.profile import timeline
from scrm.services.profile.common import customer_query
from scrm.services.profile.follow_ups import latest_query
from scrm.services.recall import sidebar as recall_sidebar

_CUSTOMER = {"corp_id": bindparam("corp_id"), "external_userid": bindparam("external_userid")}
# The relations as columns (what relation_view, the colleagues and the access check read), not
# ORM objects, with their staff member's name and departure (staff_names_left's, in the same read).
relations_query = functools.cache(lambda: select(
    FollowRelation.userid, FollowRelation.remark, FollowRelation.description, FollowRelation.remark_corp_name,
    FollowRelation.remark_mobiles, FollowRelation.add_way, FollowRelation.state, FollowRelation.added_at,
    FollowRelation.status, FollowRelation.status_changed_at, Staff.name.label("staff_name"),
    Staff.left_at.label("staff_left_at"), Staff.status.label("staff_status"))
    .outerjoin(Staff, and_(Staff.corp_id == FollowRelation.corp_id, Staff.userid == FollowRelation.userid))
    .where(FollowRelation.corp_id == _CUSTOMER["corp_id"],
           FollowRelation.external_userid == _CUSTOMER["external_userid"])
    .order_by(FollowRelation.added_at, FollowRelation.id))
relation_tags_query = functools.cache(lambda: select(RelationTag.tag_id, RelationTag.tag_name, RelationTag.group_name)
                                      .where(RelationTag.corp_id == bindparam("corp_id"),
                                             RelationTag.userid == bindparam("userid"),
                                             RelationTag.external_userid == bindparam("external_userid"))
                                      .order_by(RelationTag.id))
stage_query = functools.cache(lambda: select(CustomerStage.stage_id).filter_by(**_CUSTOMER))
field_values_query = functools.cache(lambda: select(CustomerFieldValue.field_id, CustomerFieldValue.value)
                                     .filter_by(**_CUSTOMER))


@functools.cache
def channel_query(by_follower: bool) -> Select:
    """The channel the customer was added through: the viewer's latest add (``by_follower``),
    or anyone's."""
    query = (select(Channel.id, Channel.name, Channel.state).join(ChannelAdd, ChannelAdd.channel_id == Channel.id)
             .where(ChannelAdd.corp_id == bindparam("corp_id"),
                    ChannelAdd.external_userid == bindparam("external_userid"))
             .order_by(ChannelAdd.added_at.desc()).limit(1))
    return query.where(ChannelAdd.userid == bindparam("userid")) if by_follower else query


@functools.cache
def groups_query() -> Select:
    """The groups the customer is in (not dismissed), with their member counts."""
    others = aliased(GroupMember)
    member_count = (select(func.count()).where(others.corp_id == GroupMember.corp_id,
                                               others.chat_id == GroupMember.chat_id, others.quit_time.is_(None))
                    .scalar_subquery())
    return (select(GroupMember.chat_id, GroupMember.join_time, GroupChat.name, member_count)
            .join(GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id, GroupChat.chat_id == GroupMember.chat_id))
            .where(GroupMember.corp_id == bindparam("corp_id"), GroupMember.member_id == bindparam("external_userid"),
                   GroupMember.quit_time.is_(None), GroupChat.status != "dismissed")
            .order_by(GroupMember.join_time.desc().nulls_last()))


@functools.cache
def _batch() -> BatchRead:
    return BatchRead({
        "customer": customer_query(), "relations": relations_query(), "role": policy.role_query(),
        "follow_ups": latest_query(), "channel_mine": channel_query(True), "channel_any": channel_query(False),
        "tags": relation_tags_query(), "stage": stage_query(), "field_values": field_values_query(),
        "groups": groups_query(), "sops": sop.summary_query(), "sop_reminders": library.pending_reminders_query(),
        "risk": churn.risk_query(), "recall_reminders": recall_sidebar.reminders_query(),
        "timeline": timeline.page_query(),
    })


@dataclass(frozen=True)
class ProfileReads:
    """What the batch read, per part: rows of each read's columns (a row or None for the
    one-row reads)."""

    customer: Any
    relations: list[Any]
    role: policy.Role
    follow_ups: list[Any]
    channel_mine: Any
    channel_any: Any
    tags: list[Any]
    stage_id: int | None
    field_values: dict[int, str]
    groups: list[Any]
    sops: list[Any]
    sop_reminders: list[Any]
    risk: Any
    recall_reminders: list[Any]
    timeline: list[Any]


def read(corp_id: str, userid: str, external_userid: str, timeline_limit: int) -> ProfileReads:
    """One statement: every part of the customer view, ``timeline_limit`` + 1 timeline rows."""
    rows = _batch().execute({"corp_id": corp_id, "userid": userid, "external_userid": external_userid,
                             "limit": timeline_limit + 1})

    def one(name: str) -> Any:
        return rows[name][0] if rows[name] else None

    stage = one("stage")
    return ProfileReads(
        customer=one("customer"), relations=rows["relations"],
        role=policy.role_from_row(corp_id, userid, one("role")), follow_ups=rows["follow_ups"],
        channel_mine=one("channel_mine"), channel_any=one("channel_any"), tags=rows["tags"],
        stage_id=stage[0] if stage else None, field_values=dict(rows["field_values"]), groups=rows["groups"],
        sops=rows["sops"], sop_reminders=rows["sop_reminders"], risk=one("risk"),
        recall_reminders=rows["recall_reminders"], timeline=rows["timeline"])
