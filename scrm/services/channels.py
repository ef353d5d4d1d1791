"""Channel codes (渠道活码): WeCom 「联系我」 contact ways the operator manages, the attribution of
each new customer to the channel whose ``state`` came with the add, and the channel's tags
applied on add.

WeCom sends no callback for our own `mark_tag`
(docs/wecom/callbacks.md#api-changes-fire-no-callback), so what we apply is recorded
locally at once: RelationTag rows and a `tags_applied` timeline entry.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from scrm.clock import utcnow
from scrm.db import insert_ignoring_conflict
from scrm.extensions import db
from scrm.models import (
    Channel,
    ChannelAdd,
    ChannelStatus,
    FollowRelation,
    RelationTag,
    Tag,
    TagGroup,
    WelcomeTemplate,
)
from scrm.services import timeline
from scrm.services.corps import wecom_client
from scrm.services.validation import Invalid, raise_if
from scrm.services.welcome_templates import channel_for_state
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

# Fields WeCom keeps for a contact way (update_contact_way can change all but type and scene).
WECOM_FIELDS = ("style", "remark", "skip_verify", "state", "userids")
LOCAL_FIELDS = ("name", "tag_ids", "welcome_template_id")
# WeCom errcodes that mean "these staff can't be on a contact way" (bad userid, not in the app's
# visibility, no customer-contact permission, too many): the operator's input, not an outage.
STAFF_ERRCODES = {40003, 60011, 60111, 84074, 41041, 60020}


def known_tags(corp_id: str, tag_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """tag_id → (name, group name) for the live corp tags among ``tag_ids``."""
    if not tag_ids:
        return {}
    rows = db.session.execute(
        select(Tag.tag_id, Tag.name, TagGroup.name)
        .outerjoin(TagGroup, (TagGroup.corp_id == Tag.corp_id) & (TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.tag_id.in_(tag_ids), Tag.deleted.is_(False)))
    return {tag_id: (name, group) for tag_id, name, group in rows}


def _check(corp_id: str, channel: Channel | None, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    state = data.get("state")
    if state:
        clash = db.session.scalar(select(Channel.id).where(
            Channel.corp_id == corp_id, Channel.state == state, Channel.status == ChannelStatus.ACTIVE,
            Channel.id != (channel.id if channel else -1)))
        if clash:
            errors["state"] = [f"Already used by channel {clash}."]
    tag_ids = data.get("tag_ids") or []
    unknown = [t for t in tag_ids if t not in known_tags(corp_id, tag_ids)]
    if unknown:
        errors["tag_ids"] = [f"Unknown tag id(s): {', '.join(unknown)} (not in the corp tag library)."]
    template_id = data.get("welcome_template_id")
    if template_id is not None:
        template = db.session.get(WelcomeTemplate, template_id)
        if template is None or template.corp_id != corp_id or template.deleted:
            errors["welcome_template_id"] = [f"No welcome template {template_id}."]
    kind = data.get("type", channel.type if channel else None)
    userids = data.get("userids", channel.userids if channel else [])
    if kind == 1 and len(userids) != 1:
        errors["userids"] = ["A single-staff code (type 1) takes exactly one userid."]
    raise_if(errors)


def _wecom_error(exc: WeComError) -> Exception:
    if exc.errcode in STAFF_ERRCODES:
        return Invalid({"userids": [f"WeCom refused these staff: {exc.errmsg} (errcode {exc.errcode})."]})
    return exc


def _wecom_body(channel: Channel) -> dict[str, Any]:
    body = {"style": channel.style, "remark": channel.remark, "skip_verify": channel.skip_verify,
            "state": channel.state, "user": list(channel.userids)}
    return {key: value for key, value in body.items() if value is not None}


def create(corp_id: str, data: dict[str, Any]) -> Channel:
    _check(corp_id, None, data)
    channel = Channel(corp_id=corp_id, name=data["name"], type=data["type"], scene=data["scene"],
                      style=data.get("style"), remark=data.get("remark"),
                      skip_verify=data.get("skip_verify", True),
                      state=data.get("state") or "ch" + secrets.token_hex(6),
                      userids=list(data["userids"]), tag_ids=list(data.get("tag_ids") or []),
                      welcome_template_id=data.get("welcome_template_id"))
    try:
        reply = wecom_client(corp_id).add_contact_way(
            {"type": channel.type, "scene": channel.scene, **_wecom_body(channel)})
    except WeComError as exc:
        db.session.rollback()
        raise _wecom_error(exc) from exc
    channel.config_id, channel.qr_code = reply.get("config_id"), reply.get("qr_code")
    db.session.add(channel)
    db.session.commit()
    return channel


def get(corp_id: str, channel_id: int) -> Channel | None:
    channel = db.session.get(Channel, channel_id)
    return channel if channel and channel.corp_id == corp_id else None


def update(channel: Channel, data: dict[str, Any]) -> Channel:
    if channel.status != ChannelStatus.ACTIVE:
        raise Invalid({"id": ["The channel was deleted."]})
    _check(channel.corp_id, channel, data)
    wecom_changed = any(key in data and data[key] != getattr(channel, key) for key in WECOM_FIELDS)
    for key in WECOM_FIELDS + LOCAL_FIELDS:
        if key in data:
            setattr(channel, key, list(data[key]) if isinstance(data[key], list) else data[key])
    if wecom_changed:
        try:
            wecom_client(channel.corp_id).update_contact_way({"config_id": channel.config_id, **_wecom_body(channel)})
        except WeComError as exc:
            db.session.rollback()
            raise _wecom_error(exc) from exc
    db.session.commit()
    return channel


def delete(channel: Channel) -> None:
    """del_contact_way, then keep the row (deleted) for the attribution history."""
    if channel.status == ChannelStatus.DELETED:
        return
    try:
        wecom_client(channel.corp_id).del_contact_way(channel.config_id)
    except WeComError as exc:
        if exc.errcode != 41044:  # already gone in WeCom
            raise
    channel.status, channel.deleted_at = ChannelStatus.DELETED, utcnow()
    db.session.commit()


def add_counts(channel_ids: list[int]) -> dict[int, int]:
    if not channel_ids:
        return {}
    rows = db.session.execute(select(ChannelAdd.channel_id, func.count()).where(
        ChannelAdd.channel_id.in_(channel_ids)).group_by(ChannelAdd.channel_id))
    return {channel_id: count for channel_id, count in rows}


# ---- on add: mark_tag before the handler writes, then the writes ---------------------------

@dataclass(frozen=True)
class TagMarking:
    """What mark_tag did for an add: the channel's tags it applied (tag_id → (name, group)), or
    the permanent error that stopped it."""
    tags: dict[str, tuple[str | None, str | None]]
    error: str | None = None


def mark_channel_tags(ctx) -> TagMarking | None:
    """Apply the channel's tags in WeCom for this add (reads, then one WeCom call: the handler
    calls it before it writes anything, so no WeCom call waits inside a write transaction).
    None when the add came through no channel. A retryable WeCom error propagates so the inbox
    retries the event (mark_tag adding a tag twice is harmless)."""
    channel = channel_for_state(ctx.corp_id, ctx.get("State"))
    if channel is None:
        return None
    library = known_tags(ctx.corp_id, channel.tag_ids or [])  # a tag deleted since is skipped
    tags = {tag_id: library[tag_id] for tag_id in channel.tag_ids or [] if tag_id in library}
    if not tags:
        return TagMarking(tags)
    try:
        ctx.wecom.mark_tag(ctx.get("UserID"), ctx.get("ExternalUserID"), add_tag=list(tags))
    except WeComError as exc:
        if exc.retryable:
            raise
        log.warning("mark_tag for channel %s on %s failed: %s", channel.id, ctx.get("ExternalUserID"), exc)
        return TagMarking(tags, str(exc))
    return TagMarking(tags)


def attribute(ctx, relation: FollowRelation, marking: TagMarking | None) -> ChannelAdd | None:
    """Attribute this add to the channel of its state and record the channel's tags that
    ``marking`` applied (once per add event). The handler's transaction commits."""
    state = ctx.get("State")
    channel = channel_for_state(ctx.corp_id, state)
    if channel is None:
        return None
    insert_ignoring_conflict(ChannelAdd, dict(
        corp_id=ctx.corp_id, channel_id=channel.id, event_id=ctx.event_id, userid=relation.userid,
        external_userid=relation.external_userid, state=state, added_at=ctx.occurred_at))
    added = db.session.scalars(select(ChannelAdd).filter_by(event_id=ctx.event_id)).one()
    if added.tags_applied_at is None:
        timeline.record(ctx.corp_id, relation.external_userid, "channel_attributed", source="job",
                        userid=relation.userid, occurred_at=ctx.occurred_at, event_id=ctx.event_id,
                        summary=channel.name, data={"channel_id": channel.id, "state": state})
        record_tags(ctx, channel, relation, added, marking or TagMarking({}))
    return added


def record_tags(ctx, channel: Channel, relation: FollowRelation, added: ChannelAdd, marking: TagMarking) -> None:
    tags = marking.tags
    added.tag_ids, added.tags_applied_at = list(tags), utcnow()
    if not tags:
        return
    if marking.error is not None:
        added.tag_ids = []
        timeline.record(ctx.corp_id, relation.external_userid, "tags_apply_failed", source="job",
                        userid=relation.userid, event_id=ctx.event_id,
                        data={"channel_id": channel.id, "tag_ids": list(tags), "error": marking.error})
        return
    stored = set(db.session.scalars(select(RelationTag.tag_key).filter_by(
        corp_id=ctx.corp_id, userid=relation.userid, external_userid=relation.external_userid)))
    labels = []
    for tag_id, (name, group) in tags.items():
        labels.append({"tag_id": tag_id, "name": name, "group_name": group})
        if tag_id not in stored:
            db.session.add(RelationTag(corp_id=ctx.corp_id, userid=relation.userid,
                                       external_userid=relation.external_userid, tag_key=tag_id,
                                       tag_id=tag_id, tag_name=name, group_name=group, type=1))
    timeline.record(ctx.corp_id, relation.external_userid, "tags_applied", source="job",
                    userid=relation.userid, event_id=ctx.event_id,
                    summary="、".join(label["name"] or label["tag_id"] for label in labels),
                    data={"channel_id": channel.id, "tags": labels})
