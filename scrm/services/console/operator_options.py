"""What the operators' forms pick from (the console's pages for channel codes, welcome templates,
SOPs, recall playbooks): the corp's active staff members and its corp tags, by name."""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from scrm.extensions import db
from scrm.models import Staff, Tag, TagGroup

MAX_OPTIONS = 5000  # a pick list, not a report: beyond this the forms take typed ids


def options(corp_id: str) -> dict[str, list[dict[str, Any]]]:
    staff = db.session.execute(
        select(Staff.userid, Staff.name).where(Staff.corp_id == corp_id, Staff.left_at.is_(None),
                                               or_(Staff.status.is_(None), Staff.status.not_in((2, 5))))
        .order_by(Staff.userid).limit(MAX_OPTIONS)).all()
    tags = db.session.execute(
        select(Tag.tag_id, Tag.name, TagGroup.name)
        .outerjoin(TagGroup, (TagGroup.corp_id == Tag.corp_id) & (TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.deleted.is_(False))
        .order_by(TagGroup.order.desc(), Tag.order.desc(), Tag.tag_id).limit(MAX_OPTIONS)).all()
    return {"staff": [{"userid": userid, "name": name or userid} for userid, name in staff],
            "tags": [{"id": tag_id, "name": name or tag_id, "group": group or ""} for tag_id, name, group in tags]}
