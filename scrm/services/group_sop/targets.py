"""Which groups a plan targets, as one SQL condition on ``group_chat`` (evaluated at each
planning run, and again when an execution runs: a group that no longer matches is skipped).

A group matches when it is active and every non-empty filter holds (owners, name contains,
labels: any of, group codes: any of), or when it is listed in ``chat_ids``."""
from __future__ import annotations

from collections.abc import Iterable

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


def matching(corp_id: str, targets: dict, chat_ids: Iterable[str]) -> set[str]:
    """Which of ``chat_ids`` the targets match now (one query)."""
    chat_ids = list(set(chat_ids))
    if not chat_ids:
        return set()
    return set(db.session.scalars(select(GroupChat.chat_id).where(
        clause(corp_id, targets), GroupChat.chat_id.in_(chat_ids))))
