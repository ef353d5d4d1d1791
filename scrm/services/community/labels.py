"""Our own labels on customer groups (WeCom has no tag API for groups): GroupLabel (name unique
per corp, category, color) and GroupLabelLink (label, chat_id). Plain rows: a group has a label
when a link row exists; group SOP targeting reads them as they are."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import GroupChat, GroupLabel, GroupLabelLink
from scrm.services.validation import Invalid, raise_if


def get(corp_id: str, label_id: int) -> GroupLabel | None:
    label = db.session.get(GroupLabel, label_id)
    return label if label and label.corp_id == corp_id else None


def list_query(corp_id: str, category: str | None = None):
    query = select(GroupLabel).where(GroupLabel.corp_id == corp_id)
    if category:
        query = query.where(GroupLabel.category == category)
    return query.order_by(GroupLabel.id)


def group_counts(label_ids: list[int]) -> dict[int, int]:
    if not label_ids:
        return {}
    rows = db.session.execute(select(GroupLabelLink.label_id, func.count())
                              .where(GroupLabelLink.label_id.in_(label_ids)).group_by(GroupLabelLink.label_id))
    return dict(rows.all())


def _check_name(corp_id: str, name: str | None, label_id: int | None) -> None:
    if name is None:
        return
    clash = db.session.scalar(select(GroupLabel.id).where(
        GroupLabel.corp_id == corp_id, GroupLabel.name == name, GroupLabel.id != (label_id or -1)))
    if clash:
        raise Invalid({"name": [f"Already the name of group label {clash}."]})


def create(corp_id: str, data: dict[str, Any]) -> GroupLabel:
    _check_name(corp_id, data["name"], None)
    label = GroupLabel(corp_id=corp_id, name=data["name"], category=data.get("category"), color=data.get("color"))
    db.session.add(label)
    db.session.commit()
    return label


def update(label: GroupLabel, data: dict[str, Any]) -> GroupLabel:
    _check_name(label.corp_id, data.get("name"), label.id)
    for key in ("name", "category", "color"):
        if key in data:
            setattr(label, key, data[key])
    db.session.commit()
    return label


def delete(label: GroupLabel) -> None:
    """The label and its links go (the groups stay)."""
    db.session.execute(sql_delete(GroupLabelLink).where(GroupLabelLink.label_id == label.id))
    db.session.delete(label)
    db.session.commit()


def _known_chats(corp_id: str, chat_ids: list[str], field: str) -> None:
    known = set(db.session.scalars(select(GroupChat.chat_id).where(
        GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(chat_ids)))) if chat_ids else set()
    unknown = [chat_id for chat_id in dict.fromkeys(chat_ids) if chat_id not in known]
    raise_if({field: [f"No group with chat_id {', '.join(unknown)}."]} if unknown else {})


def change_groups(label: GroupLabel, add: list[str], remove: list[str]) -> dict[str, int]:
    """Put the label on the groups ``add`` and take it off ``remove`` (bulk); adding twice is a no-op."""
    _known_chats(label.corp_id, add, "add")
    added = sum(insert_ignoring_conflict(GroupLabelLink, dict(corp_id=label.corp_id, label_id=label.id,
                                                              chat_id=chat_id)) for chat_id in dict.fromkeys(add))
    removed = db.session.execute(sql_delete(GroupLabelLink).where(
        GroupLabelLink.label_id == label.id, GroupLabelLink.chat_id.in_(remove))).rowcount if remove else 0
    db.session.commit()
    return {"added": added, "removed": removed or 0, "groups": group_counts([label.id]).get(label.id, 0)}


def set_group_labels(corp_id: str, chat_id: str, label_ids: list[int]) -> list[GroupLabel]:
    """The group's labels become exactly ``label_ids`` (the caller checked the group exists)."""
    found = {label.id: label for label in db.session.scalars(select(GroupLabel).where(
        GroupLabel.corp_id == corp_id, GroupLabel.id.in_(label_ids)))} if label_ids else {}
    unknown = [str(i) for i in dict.fromkeys(label_ids) if i not in found]
    raise_if({"label_ids": [f"No group label {', '.join(unknown)}."]} if unknown else {})
    db.session.execute(sql_delete(GroupLabelLink).where(
        GroupLabelLink.corp_id == corp_id, GroupLabelLink.chat_id == chat_id,
        GroupLabelLink.label_id.not_in(list(found)) if found else GroupLabelLink.id.is_not(None)))
    for label_id in found:
        insert_ignoring_conflict(GroupLabelLink, dict(corp_id=corp_id, label_id=label_id, chat_id=chat_id))
    db.session.commit()
    return labels_of(corp_id, [chat_id])[chat_id]


def group_exists(corp_id: str, chat_id: str) -> bool:
    return db.session.scalar(select(GroupChat.id).where(GroupChat.corp_id == corp_id,
                                                        GroupChat.chat_id == chat_id)) is not None


def labels_of(corp_id: str, chat_ids: list[str]) -> dict[str, list[GroupLabel]]:
    out: dict[str, list[GroupLabel]] = {chat_id: [] for chat_id in chat_ids}
    if chat_ids:
        for chat_id, label in db.session.execute(
                select(GroupLabelLink.chat_id, GroupLabel).join(GroupLabel, GroupLabel.id == GroupLabelLink.label_id)
                .where(GroupLabelLink.corp_id == corp_id, GroupLabelLink.chat_id.in_(chat_ids))
                .order_by(GroupLabel.id)):
            out[chat_id].append(label)
    return out
