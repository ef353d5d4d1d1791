"""The corp tag library (企业客户标签) edited from our side: WeCom first (`add_corp_tag`,
`edit_corp_tag`, `del_corp_tag`; docs/wecom/api.md#corp-tags), then our copy through the same
upserts the `change_external_tag` callbacks and the tags sync use (scrm/services/events/tags.py),
so a rename reaches the customers' denormalised tag names and a deletion takes the tag off every
customer with a timeline entry. Changes made through the API fire no callback, so our copy is
updated here; `sync()` reads the whole library back (the 「从企业微信同步」 button).

Only the library's own groups are edited (rule-group (策略) tags need the 客户联系 secret); WeCom
lets an app edit or delete only the tags it created: a refusal surfaces as a WeComError.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Tag, TagGroup
from scrm.services.community.common import LimitReached
from scrm.services.corps import wecom_client
from scrm.services.events.registry import EventContext
from scrm.services.events.tags import apply_tag_groups, apply_tag_library, delete_groups, delete_tags
from scrm.services.validation import raise_if
from scrm.wecom import WeComError

TAG_LIMIT_ERRCODE = 40126  # at most 3000 corp tags


def _context(corp_id: str) -> EventContext:
    """What the tag upserts take: source "console", now."""
    return EventContext(event_id=None, corp_id=corp_id, event="console", change_type="corp_tags",  # type: ignore[arg-type]
                        data={}, occurred_at=utcnow(), source="console")


def _groups_query(corp_id: str):
    return select(TagGroup).where(TagGroup.corp_id == corp_id, TagGroup.deleted.is_(False),
                                  TagGroup.strategy_id.is_(None))


def library_query(corp_id: str, name: str | None = None):
    """The library's groups, WeCom's order (bigger `order` first); `name` matches a group's or
    one of its tags' names."""
    query = _groups_query(corp_id)
    if name:
        pattern = f"%{name}%"
        tagged = select(Tag.group_id).where(Tag.corp_id == corp_id, Tag.deleted.is_(False), Tag.name.ilike(pattern))
        query = query.where(TagGroup.name.ilike(pattern) | TagGroup.group_id.in_(tagged))
    return query.order_by(TagGroup.order.desc().nulls_last(), TagGroup.id)


def tags_of(corp_id: str, group_ids: list[str]) -> dict[str, list[Tag]]:
    out: dict[str, list[Tag]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        for tag in db.session.scalars(select(Tag).where(
                Tag.corp_id == corp_id, Tag.group_id.in_(group_ids), Tag.deleted.is_(False))
                .order_by(Tag.order.desc().nulls_last(), Tag.id)):
            out[tag.group_id].append(tag)
    return out


def get_group(corp_id: str, group_id: str) -> TagGroup | None:
    return db.session.scalar(_groups_query(corp_id).where(TagGroup.group_id == group_id))


def get_tag(corp_id: str, tag_id: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.corp_id == corp_id, Tag.tag_id == tag_id,
                                               Tag.deleted.is_(False), Tag.strategy_id.is_(None)))


def _check_names(corp_id: str, group: TagGroup | None, tags: list[dict[str, Any]], field: str = "tags") -> None:
    errors: dict[str, list[str]] = {}
    names = [tag["name"] for tag in tags]
    existing = {tag.name for tag in tags_of(corp_id, [group.group_id])[group.group_id]} if group else set()
    for index, name in enumerate(names):
        if name in existing or name in names[:index]:
            errors[f"{field}.{index}.name"] = ["This group already has a tag with this name."]
    raise_if(errors)


def _wecom_add(client, **kwargs: Any) -> dict[str, Any]:
    try:
        return client.add_corp_tag(**kwargs)["tag_group"]
    except WeComError as exc:
        if exc.errcode == TAG_LIMIT_ERRCODE:
            raise LimitReached(exc.errcode, "WeCom holds at most 3000 corp tags") from None
        raise


def create_group(corp_id: str, data: dict[str, Any]) -> TagGroup:
    """A new tag group with its first tags (WeCom has no empty groups)."""
    clash = db.session.scalar(_groups_query(corp_id).where(TagGroup.name == data["group_name"]))
    raise_if({"group_name": ["A tag group with this name exists: add the tags to it."]} if clash else {})
    _check_names(corp_id, None, data["tags"])
    reply = _wecom_add(wecom_client(corp_id), group_name=data["group_name"], order=data.get("order"),
                       tags=data["tags"])
    apply_tag_groups(_context(corp_id), [reply], None, whole_groups=False)
    db.session.commit()
    return get_group(corp_id, reply["group_id"])


def add_tags(group: TagGroup, tags: list[dict[str, Any]]) -> TagGroup:
    _check_names(group.corp_id, group, tags)
    reply = _wecom_add(wecom_client(group.corp_id), group_id=group.group_id, tags=tags)
    apply_tag_groups(_context(group.corp_id), [reply], None, whole_groups=False)
    db.session.commit()
    return group


def _reread(corp_id: str, group_id: str) -> None:
    """Our copy of one group from WeCom (the whole group: a rename reaches the customers)."""
    ctx = _context(corp_id)
    groups = ctx.wecom.get_corp_tag_list(group_ids=[group_id]).get("tag_group") or []
    apply_tag_groups(ctx, groups, None, whole_groups=True)
    if group_id not in {item["group_id"] for item in groups}:
        delete_groups(ctx, [group_id])


def edit_group(group: TagGroup, data: dict[str, Any]) -> TagGroup:
    if data.get("name") is not None and data["name"] != group.name:
        clash = db.session.scalar(_groups_query(group.corp_id).where(TagGroup.name == data["name"]))
        raise_if({"name": ["A tag group with this name exists."]} if clash else {})
    wecom_client(group.corp_id).edit_corp_tag(group.group_id, name=data.get("name"), order=data.get("order"))
    _reread(group.corp_id, group.group_id)
    db.session.commit()
    return group


def edit_tag(tag: Tag, data: dict[str, Any]) -> Tag:
    if data.get("name") is not None and data["name"] != tag.name:
        siblings = {row.name for row in tags_of(tag.corp_id, [tag.group_id])[tag.group_id] if row.id != tag.id}
        raise_if({"name": ["This group already has a tag with this name."]} if data["name"] in siblings else {})
    wecom_client(tag.corp_id).edit_corp_tag(tag.tag_id, name=data.get("name"), order=data.get("order"))
    _reread(tag.corp_id, tag.group_id)
    db.session.commit()
    return tag


def delete_group(group: TagGroup) -> None:
    """The group and its tags, off every customer."""
    wecom_client(group.corp_id).del_corp_tag(group_ids=[group.group_id])
    delete_groups(_context(group.corp_id), [group.group_id])
    db.session.commit()


def delete_tag(tag: Tag) -> None:
    """The tag, off every customer; WeCom deletes a group whose last tag goes, and so do we."""
    wecom_client(tag.corp_id).del_corp_tag(tag_ids=[tag.tag_id])
    ctx = _context(tag.corp_id)
    delete_tags(ctx, [tag.tag_id])
    if not tags_of(tag.corp_id, [tag.group_id])[tag.group_id]:
        delete_groups(ctx, [tag.group_id])
    db.session.commit()


def sync(corp_id: str) -> dict[str, int]:
    """The whole library from WeCom (`get_corp_tag_list`): upserted, and what it lacks deleted."""
    ctx = _context(corp_id)
    groups = ctx.wecom.get_corp_tag_list().get("tag_group") or []
    apply_tag_library(ctx, groups, None, fetched_at=ctx.occurred_at)
    db.session.commit()
    return {"groups": len(groups), "tags": sum(len(item.get("tag") or []) for item in groups)}
