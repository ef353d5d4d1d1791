"""Which groups a plan targets, as one SQL condition on ``group_chat`` (evaluated at each
planning run, and again when an execution runs: a group that no longer matches is skipped).

A group matches when it is active and every non-empty filter holds (owners, name contains,
labels: any of, group codes: any of), or when it is listed in ``chat_ids``."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, or_, select

from scrm.extensions import db
from scrm.models import GroupChat, GroupChatStatus, GroupCodeChat, GroupLabelLink

FILTER_KEYS = ("owners", "name_contains", "label_ids", "group_code_ids")
TARGET_KEYS = (*FILTER_KEYS, "chat_ids")


def normalize(targets: dict | None) -> dict:
    targets = targets or {}
    out = {key: list(dict.fromkeys(targets.get(key) or [])) for key in ("owners", "label_ids", "group_code_ids",
                                                                          "chat_ids")}
    out["name_contains"] = (targets.get("name_contains") or "").strip() or None
    return out


def is_empty(targets: dict) -> bool:
    return not any(targets.get(key) for key in TARGET_KEYS)


def clause(corp_id: str, targets: dict):
    """The SQL condition on GroupChat for ``targets`` (the corp's active groups only)."""
    filters = []
    if targets.get("owners"):
        filters.append(GroupChat.owner.in_(targets["owners"]))
    if targets.get("name_contains"):
        filters.append(GroupChat.name.contains(targets["name_contains"], autoescape=True))
    if targets.get("label_ids"):
        filters.append(exists().where(GroupLabelLink.corp_id == GroupChat.corp_id,
                                      GroupLabelLink.chat_id == GroupChat.chat_id,
                                      GroupLabelLink.label_id.in_(targets["label_ids"])))
    if targets.get("group_code_ids"):
        filters.append(exists().where(GroupCodeChat.corp_id == GroupChat.corp_id,
                                      GroupCodeChat.chat_id == GroupChat.chat_id,
                                      GroupCodeChat.group_code_id.in_(targets["group_code_ids"])))
    chosen = [and_(*filters)] if filters else []
    if targets.get("chat_ids"):
        chosen.append(GroupChat.chat_id.in_(targets["chat_ids"]))
    return and_(GroupChat.corp_id == corp_id, GroupChat.status == GroupChatStatus.ACTIVE,
                or_(*chosen) if chosen else false())


@dataclass(frozen=True)
class GroupFacts:
    """What the targets look at, for one group (the sweep's few changed groups)."""
    owner: str | None
    name: str | None
    active: bool
    label_ids: frozenset[int]
    group_code_ids: frozenset[int]


def facts(corp_id: str, chat_ids: Iterable[str]) -> dict[str, GroupFacts]:
    """GroupFacts of these groups (three queries)."""
    chat_ids = sorted(set(chat_ids))
    if not chat_ids:
        return {}
    labels, codes = defaultdict(set), defaultdict(set)
    for chat_id, label_id in db.session.execute(select(GroupLabelLink.chat_id, GroupLabelLink.label_id).where(
            GroupLabelLink.corp_id == corp_id, GroupLabelLink.chat_id.in_(chat_ids))).all():
        labels[chat_id].add(label_id)
    for chat_id, code_id in db.session.execute(select(GroupCodeChat.chat_id, GroupCodeChat.group_code_id).where(
            GroupCodeChat.corp_id == corp_id, GroupCodeChat.chat_id.in_(chat_ids))).all():
        codes[chat_id].add(code_id)
    return {chat_id: GroupFacts(owner, name, status == GroupChatStatus.ACTIVE, frozenset(labels[chat_id]),
                                frozenset(codes[chat_id]))
            for chat_id, owner, name, status in db.session.execute(select(
                GroupChat.chat_id, GroupChat.owner, GroupChat.name, GroupChat.status).where(
                GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(chat_ids))).all()}


def prepared(targets: dict | None) -> dict:
    """``targets`` with its lists as frozensets, for matching many groups (matches())."""
    return {key: frozenset(value) if isinstance(value, list) else value for key, value in (targets or {}).items()}


def matches(targets: dict, group: GroupFacts, chat_id: str | None = None) -> bool:
    """clause() evaluated in Python for one group (tests hold the two to the same answers);
    ``targets`` as stored or prepared()."""
    if not group.active:
        return False
    filters = []
    if targets.get("owners"):
        filters.append(group.owner in targets["owners"])
    if targets.get("name_contains"):
        filters.append(targets["name_contains"] in (group.name or ""))
    if targets.get("label_ids"):
        filters.append(not group.label_ids.isdisjoint(targets["label_ids"]))
    if targets.get("group_code_ids"):
        filters.append(not group.group_code_ids.isdisjoint(targets["group_code_ids"]))
    listed = bool(targets.get("chat_ids")) and chat_id in targets["chat_ids"]
    return (bool(filters) and all(filters)) or listed


def matching(corp_id: str, targets: dict, chat_ids: Iterable[str]) -> set[str]:
    """Which of ``chat_ids`` the targets match now (one query)."""
    chat_ids = list(set(chat_ids))
    if not chat_ids:
        return set()
    return set(db.session.scalars(select(GroupChat.chat_id).where(
        clause(corp_id, targets), GroupChat.chat_id.in_(chat_ids))))
