"""What the customer list's filter controls offer: the corp tag library by group, funnel stages,
channel codes, staff members and departments (one read each, plain rows)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from scrm.extensions import db
from scrm.models import Channel, Department, FunnelStage, GroupCode, GroupLabel, Staff, Tag, TagGroup


def filter_options(corp_id: str) -> dict[str, Any]:
    tag_groups: dict[str | None, dict] = {}
    for tag_id, name, group_id, group_name in db.session.execute(
            select(Tag.tag_id, Tag.name, Tag.group_id, TagGroup.name)
            .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
            .where(Tag.corp_id == corp_id, Tag.deleted.is_(False))
            .order_by(TagGroup.order.desc().nulls_last(), Tag.group_id, Tag.order.desc().nulls_last(), Tag.id)):
        group = tag_groups.setdefault(group_id, {"group_id": group_id, "name": group_name, "tags": []})
        group["tags"].append({"tag_id": tag_id, "name": name})
    return {
        "tag_groups": list(tag_groups.values()),
        "stages": [{"id": i, "name": n} for i, n in db.session.execute(
            select(FunnelStage.id, FunnelStage.name)
            .where(FunnelStage.corp_id == corp_id, FunnelStage.deleted.is_(False))
            .order_by(FunnelStage.order, FunnelStage.id))],
        "channels": [{"id": i, "name": n, "state": s, "status": st} for i, n, s, st in db.session.execute(
            select(Channel.id, Channel.name, Channel.state, Channel.status).where(Channel.corp_id == corp_id)
            .order_by(Channel.status, Channel.id.desc()))],
        "staff": [{"userid": u, "name": n} for u, n in db.session.execute(
            select(Staff.userid, Staff.name).where(Staff.corp_id == corp_id, Staff.left_at.is_(None))
            .order_by(Staff.name, Staff.userid))],
        "departments": [{"id": i, "name": n, "parent_id": p} for i, n, p in db.session.execute(
            select(Department.dept_id, Department.name, Department.parent_id)
            .where(Department.corp_id == corp_id, Department.deleted_at.is_(None))
            .order_by(Department.order.desc().nulls_last(), Department.dept_id))],
        "group_labels": [{"id": i, "name": n} for i, n in db.session.execute(
            select(GroupLabel.id, GroupLabel.name).where(GroupLabel.corp_id == corp_id).order_by(GroupLabel.name))],
        "group_codes": [{"id": i, "name": n} for i, n in db.session.execute(
            select(GroupCode.id, GroupCode.name).where(GroupCode.corp_id == corp_id).order_by(GroupCode.id.desc()))],
    }
