"""The corp tag library (docs/wecom/api.md#corp-tags, doc 92117). Changes made through the API fire no
change_external_tag callback (only changes made in the admin console do; see actions)."""
from __future__ import annotations

from sandbox.endpoints.base import Call, endpoint
from sandbox.errors import ApiError, invalid
from sandbox.model import Tag, TagGroup

MAX_CORP_TAGS = 3000
MAX_NAME_CHARS = 30


def tag_json(tag: Tag) -> dict:
    return {"id": tag.id, "name": tag.name, "create_time": tag.create_time, "order": tag.order,
            "deleted": False}


def group_json(group: TagGroup, tags: list[Tag] | None = None) -> dict:
    return {"group_id": group.group_id, "group_name": group.name, "create_time": group.create_time,
            "order": group.order, "deleted": False,
            "tag": [tag_json(t) for t in (group.tags.values() if tags is None else tags)]}


@endpoint("externalcontact/get_corp_tag_list")
def get_corp_tag_list(call: Call) -> dict:
    world = call.world
    group_ids = call.items("group_id")
    tag_ids = call.items("tag_id")
    if group_ids:  # group_id wins when both are given
        return {"tag_group": [group_json(world.tag_groups[g]) for g in dict.fromkeys(group_ids)
                              if g in world.tag_groups]}
    if tag_ids:
        picked: dict[str, list[Tag]] = {}
        for tag_id in dict.fromkeys(tag_ids):
            tag = world.tags.get(tag_id)
            if tag is not None:
                picked.setdefault(tag.group_id, []).append(tag)
        return {"tag_group": [group_json(world.tag_groups[g], tags) for g, tags in picked.items()]}
    return {"tag_group": [group_json(g) for g in world.tag_groups.values()]}


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{what} is required")
    if len(value) > MAX_NAME_CHARS:
        raise invalid(f"{what} is longer than {MAX_NAME_CHARS} characters")
    return value


@endpoint("externalcontact/add_corp_tag")
def add_corp_tag(call: Call) -> dict:
    world = call.world
    tags = call.items("tag", required=True)
    group_id = call.text("group_id")
    if group_id:
        group = world.tag_groups.get(group_id)
        if group is None:
            raise ApiError(40068, f"group_id {group_id!r}")
    else:
        name = _name(call.get("group_name"), "group_name (or group_id)")
        group = next((g for g in world.tag_groups.values() if g.name == name), None)
        if group is None:
            group = TagGroup(world.new_id("et", 32, world.tag_groups), name,
                             call.integer("order", 0, low=0, high=2**32 - 1) or 0, int(world.now()))
    wanted = []
    for item in tags:
        if not isinstance(item, dict):
            raise invalid("tag items must be objects {name, order}")
        wanted.append((_name(item.get("name"), "tag.name"), int(item.get("order") or 0)))
    existing = {t.name: t for t in group.tags.values()}
    new_names = [n for n in dict.fromkeys(n for n, _ in wanted) if n not in existing]
    if len(world.tags) + len(new_names) > MAX_CORP_TAGS:
        raise ApiError(40126)
    world.tag_groups.setdefault(group.group_id, group)
    created = []
    for name, order in wanted:
        tag = existing.get(name)
        if tag is None:  # duplicate names within the group are de-duplicated, not errors
            tag = existing[name] = world.add_tag(group, name, order)
        created.append(tag)
    return {"tag_group": group_json(group, list({tag.id: tag for tag in created}.values()))}


@endpoint("externalcontact/edit_corp_tag")
def edit_corp_tag(call: Call) -> dict:
    world = call.world
    item_id = call.text("id", required=True)
    item = world.tags.get(item_id) or world.tag_groups.get(item_id)
    if item is None:
        raise ApiError(40068, f"id {item_id!r}")
    if call.get("name") is not None:
        item.name = _name(call.get("name"), "name")
    order = call.integer("order", low=0, high=2**32 - 1)
    if order is not None:
        item.order = order
    return {}


@endpoint("externalcontact/del_corp_tag")
def del_corp_tag(call: Call) -> dict:
    world = call.world
    tag_ids = call.items("tag_id") or []
    group_ids = call.items("group_id") or []
    if not tag_ids and not group_ids:
        raise invalid("tag_id and group_id are both empty")
    unknown = ([i for i in tag_ids if i not in world.tags]
               + [g for g in group_ids if g not in world.tag_groups])
    if unknown:
        raise ApiError(40068, ", ".join(map(str, unknown[:5])))
    doomed = set(tag_ids)
    for group_id in group_ids:
        doomed.update(world.tag_groups[group_id].tags)
    world.delete_tags(doomed)
    return {}


@endpoint("externalcontact/get_strategy_tag_list")
def get_strategy_tag_list(call: Call) -> dict:
    return {"tag_group": []}  # the sandbox corp has no rule groups (规则组)
