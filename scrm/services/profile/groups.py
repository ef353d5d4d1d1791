"""The sidebar's group view: a group chat's members, this week's joins and leaves, audited."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Customer, GroupChat, GroupMember
from scrm.services import access, policy
from scrm.services.profile.common import Forbidden, NotSynced, label, staff_names

JOIN_SCENE_LABELS = {1: "成员直接邀请", 2: "成员链接邀请", 3: "扫描群二维码"}


def group_view(corp_id: str, userid: str, chat_id: str, *, ip: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    group = db.session.scalar(select(GroupChat).filter_by(corp_id=corp_id, chat_id=chat_id))
    if group is None:
        raise NotSynced
    role = policy.role_of(corp_id, userid)
    if not policy.can_view_group(corp_id, userid, group, role):
        raise Forbidden
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    members = list(db.session.scalars(select(GroupMember).filter_by(corp_id=corp_id, chat_id=chat_id)
                                      .order_by(GroupMember.join_time.nulls_last(), GroupMember.id)))
    current = [m for m in members if m.quit_time is None]
    customers = {m.member_id for m in current if m.type == 2}
    viewable = policy.viewable_customers(corp_id, userid, customers, role)
    known = set(db.session.scalars(select(Customer.external_userid).where(
        Customer.corp_id == corp_id, Customer.external_userid.in_(customers)))) if customers else set()
    names = staff_names(corp_id, {m.member_id for m in current if m.type == 1} | {group.owner or ""})
    view = {
        "group": {"chat_id": group.chat_id, "name": group.name, "notice": group.notice, "status": group.status,
                  "owner": {"userid": group.owner, "name": names.get(group.owner or "")},
                  "created_at": group.create_time},
        "counts": {"members": len(current), "customers": len(customers),
                   "staff": sum(1 for m in current if m.type == 1)},
        "week": {"joined": sum(1 for m in members if m.join_time and m.join_time >= week_ago),
                 "left": sum(1 for m in members if m.quit_time and m.quit_time >= week_ago)},
        "members": [{"member_id": m.member_id, "type": m.type,
                     "name": m.name or (names.get(m.member_id) if m.type == 1 else None),
                     "group_nickname": m.group_nickname, "join_time": m.join_time,
                     "join_scene_label": label(JOIN_SCENE_LABELS, m.join_scene),
                     "is_customer": m.type == 2,
                     "viewable": m.type == 2 and m.member_id in viewable and m.member_id in known}
                    for m in current],
    }  # its group SOPs: sidebar_actions.group_view adds them (scrm/services/group_sop/sidebar.py)
    access.audit(corp_id, userid, "view_group", "group", chat_id, ip=ip)
    db.session.commit()
    return view
