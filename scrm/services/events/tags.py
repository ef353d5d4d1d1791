"""`change_external_tag`: the corp tag library and rule-group (strategy) tags (docs/wecom/callbacks.md#tag-events).

create/update/shuffle are notices: we re-read the tag or group (get_corp_tag_list, or
get_strategy_tag_list when StrategyId is present) and upsert it. A read by group returns the
whole group, so its tags missing from the reply are deleted; a read by tag id returns only that
tag. Deleting a group deletes its tags without per-tag callbacks, so we cascade ourselves.

A deleted tag is gone from every customer in WeCom, again without callbacks: its RelationTag
rows are removed and each affected relation gets a relation_updated timeline entry
(reason "tag_deleted"). Renames are copied into RelationTag's denormalised names.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from scrm.clock import from_timestamp
from scrm.db import ensure_row
from scrm.extensions import db
from scrm.models import RelationTag, Tag, TagGroup
from scrm.services.customer_search import search_rows
from scrm.services.events.common import as_int, record
from scrm.services.events.registry import EventContext, handles

EVENT = "change_external_tag"


def _fetch(ctx: EventContext, strategy_id: int | None, *, tag_ids: list[str] | None = None,
           group_ids: list[str] | None = None) -> list[dict]:
    if strategy_id is not None:
        reply = ctx.wecom.get_strategy_tag_list(strategy_id=strategy_id, tag_ids=tag_ids, group_ids=group_ids)
    else:
        reply = ctx.wecom.get_corp_tag_list(tag_ids=tag_ids, group_ids=group_ids)
    return reply.get("tag_group") or []


def _newer(row: TagGroup | Tag, created: bool, fetched_at: datetime | None) -> bool:
    """Changed after the reply was fetched, i.e. by a later callback: the reply is older news."""
    return fetched_at is not None and not created and row.updated_at > fetched_at


def apply_tag_groups(ctx: EventContext, groups: list[dict], strategy_id: int | None, *, whole_groups: bool,
                     fetched_at: datetime | None = None) -> set[str]:
    """Upsert the groups and tags of a reply. Returns the tag ids it listed.

    `whole_groups`: the reply lists each group's tags in full, so stored tags it lacks are gone.
    `fetched_at` (the sync): rows changed after the reply was fetched are left as they are."""
    listed: set[str] = set()
    for item in groups:
        group, created = ensure_row(TagGroup, corp_id=ctx.corp_id, group_id=item["group_id"])
        group_renamed = False
        if not _newer(group, created, fetched_at):
            group_renamed = not created and group.name != item.get("group_name")
            group.name, group.order = item.get("group_name"), item.get("order")
            group.create_time = from_timestamp(item.get("create_time"))
            group.deleted = bool(item.get("deleted"))
            group.strategy_id = as_int(item.get("strategy_id")) or strategy_id
        gone: list[str] = []
        for tag_item in item.get("tag") or []:
            listed.add(tag_item["id"])
            tag, created = ensure_row(Tag, corp_id=ctx.corp_id, tag_id=tag_item["id"])
            if created:  # relations may carry it already (a sync or callback that came first)
                search_rows.refresh_at_commit(ctx.corp_id, tag_keys=[tag.tag_id])
            if _newer(tag, created, fetched_at):
                continue
            renamed = group_renamed or (not created and tag.name != tag_item.get("name"))
            tag.group_id, tag.name, tag.order = group.group_id, tag_item.get("name"), tag_item.get("order")
            tag.create_time = from_timestamp(tag_item.get("create_time"))
            tag.strategy_id = group.strategy_id
            if tag_item.get("deleted") or group.deleted:
                gone.append(tag.tag_id)
            else:
                tag.deleted = False
                if renamed:
                    db.session.execute(update(RelationTag).filter_by(corp_id=ctx.corp_id, tag_id=tag.tag_id)
                                       .values(tag_name=tag.name, group_name=group.name))
        if whole_groups and not group.deleted:
            missing = select(Tag.tag_id).where(
                Tag.corp_id == ctx.corp_id, Tag.group_id == group.group_id, Tag.deleted.is_(False),
                Tag.tag_id.not_in(listed))
            if fetched_at is not None:
                missing = missing.where(Tag.updated_at <= fetched_at)
            gone += db.session.scalars(missing).all()
        delete_tags(ctx, gone)
    return listed


def apply_tag_library(ctx: EventContext, groups: list[dict], strategy_id: int | None, *,
                      fetched_at: datetime | None = None) -> None:
    """A read of the whole library (or of one rule group's): upsert it; the stored groups of the
    same scope that it lacks are gone, with their tags."""
    apply_tag_groups(ctx, groups, strategy_id, whole_groups=True, fetched_at=fetched_at)
    scope = (TagGroup.strategy_id == strategy_id) if strategy_id is not None else TagGroup.strategy_id.is_(None)
    stored = select(TagGroup.group_id).where(TagGroup.corp_id == ctx.corp_id, TagGroup.deleted.is_(False), scope)
    if fetched_at is not None:
        stored = stored.where(TagGroup.updated_at <= fetched_at)
    listed = {group["group_id"] for group in groups}
    delete_groups(ctx, [group_id for group_id in db.session.scalars(stored) if group_id not in listed])


def delete_tags(ctx: EventContext, tag_ids: Iterable[str]) -> None:
    """Mark the tags deleted and take them off every relation (with a timeline entry each)."""
    tag_ids = list(tag_ids)
    if not tag_ids:
        return
    db.session.execute(update(Tag).where(Tag.corp_id == ctx.corp_id, Tag.tag_id.in_(tag_ids))
                       .values(deleted=True))
    removed: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in db.session.scalars(select(RelationTag).where(
            RelationTag.corp_id == ctx.corp_id, RelationTag.tag_id.in_(tag_ids)).order_by(RelationTag.id)):
        removed[(row.userid, row.external_userid)].append(
            {"key": row.tag_key, "name": row.tag_name, "group_name": row.group_name})
        db.session.delete(row)
    for (userid, external_userid), labels in removed.items():
        record(ctx, external_userid, "relation_updated", userid=userid,
               changes={"tags_removed": labels}, reason="tag_deleted")


def delete_groups(ctx: EventContext, group_ids: Iterable[str]) -> None:
    group_ids = list(group_ids)
    if not group_ids:
        return
    db.session.execute(update(TagGroup).where(TagGroup.corp_id == ctx.corp_id, TagGroup.group_id.in_(group_ids))
                       .values(deleted=True))
    delete_tags(ctx, db.session.scalars(select(Tag.tag_id).where(
        Tag.corp_id == ctx.corp_id, Tag.group_id.in_(group_ids), Tag.deleted.is_(False))).all())


@handles(EVENT, "create", "update")
def tag_changed(ctx: EventContext) -> None:
    item_id, strategy_id = ctx.get("Id"), as_int(ctx.get("StrategyId"))
    if ctx.get("TagType") == "tag_group":
        groups = _fetch(ctx, strategy_id, group_ids=[item_id])
        apply_tag_groups(ctx, groups, strategy_id, whole_groups=True)
        if item_id not in {group["group_id"] for group in groups}:
            delete_groups(ctx, [item_id])  # deleted again before we read it
    else:
        if item_id not in apply_tag_groups(ctx, _fetch(ctx, strategy_id, tag_ids=[item_id]), strategy_id,
                                           whole_groups=False):
            delete_tags(ctx, [item_id])


@handles(EVENT, "delete")
def tag_deleted(ctx: EventContext) -> None:
    if ctx.get("TagType") == "tag_group":
        delete_groups(ctx, [ctx.get("Id")])
    else:
        delete_tags(ctx, [ctx.get("Id")])


@handles(EVENT, "shuffle")
def tags_reordered(ctx: EventContext) -> None:
    """Id = the group whose tags were reordered; no Id = the order of all groups changed."""
    group_id, strategy_id = ctx.get("Id"), as_int(ctx.get("StrategyId"))
    groups = _fetch(ctx, strategy_id, group_ids=[group_id] if group_id else None)
    if group_id:
        apply_tag_groups(ctx, groups, strategy_id, whole_groups=True)
    else:  # a full read: stored groups in the same scope that it lacks are gone
        apply_tag_library(ctx, groups, strategy_id)
