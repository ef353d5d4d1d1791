"""Channel codes (渠道活码): WeCom 「联系我」 contact ways, and the adds each one brought."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class ChannelStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # del_contact_way done; kept for attribution history


class Channel(CorpScoped, Timestamped, db.Model):
    __tablename__ = "channel"
    # `state` identifies the channel in add callbacks; unique among live channels (checked by
    # the service: a deleted channel's state may be reused).
    __table_args__ = (Index("ix_channel_state", "corp_id", "state"),)
    name: Mapped[str] = mapped_column(String(64))
    config_id: Mapped[str | None] = mapped_column(String(64))
    qr_code: Mapped[str | None] = mapped_column(String(512))
    type: Mapped[int]  # 1 single staff member, 2 several
    scene: Mapped[int]  # 1 mini-program button, 2 QR code
    style: Mapped[int | None]
    remark: Mapped[str | None] = mapped_column(String(64))
    skip_verify: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(30))
    userids: Mapped[list] = mapped_column(JSON)  # staff the code routes to
    tag_ids: Mapped[list] = mapped_column(JSON)  # corp tags applied on add (mark_tag)
    welcome_template_id: Mapped[int | None] = mapped_column(ForeignKey("welcome_template.id"))
    status: Mapped[str] = mapped_column(String(16), default=ChannelStatus.ACTIVE)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class ChannelAdd(CorpScoped, db.Model):
    """One add (callback) attributed to a channel by its `state`, and the tags applied for it."""

    __tablename__ = "channel_add"
    __table_args__ = (Index("ix_channel_add_relation", "corp_id", "external_userid", "userid"),)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callback_event.id"), unique=True)
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(30))
    added_at: Mapped[datetime] = mapped_column(DateTime)
    tag_ids: Mapped[list | None] = mapped_column(JSON)  # applied with mark_tag
    tags_applied_at: Mapped[datetime | None] = mapped_column(DateTime)
