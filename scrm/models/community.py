"""Community operations on customer groups (社群运营): WeCom's group welcome templates (入群欢迎语),
group codes (群活码, `groupchat/add_join_way`) with the groups behind them, and our own group
labels (WeCom has no tag API for groups). See docs/wecom/api.md#customer-groups."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class CommunityStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # kept for history and attribution; gone from WeCom


class GroupWelcomeTemplate(CorpScoped, Timestamped, db.Model):
    """Our copy of a WeCom group welcome template (`group_welcome_template/*`): text with
    `%NICKNAME%` and at most one attachment. ``template_id`` is WeCom's id once created."""

    __tablename__ = "group_welcome_template"
    __table_args__ = (UniqueConstraint("corp_id", "template_id"),)
    template_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    # One attachment in the content library's format ({"msgtype": "image"|"link"|…, …}), or None.
    attachment: Mapped[dict | None] = mapped_column(JSON)
    notify: Mapped[bool] = mapped_column(default=True)  # WeCom tells the members to apply it
    status: Mapped[str] = mapped_column(String(16), default=CommunityStatus.ACTIVE)


class GroupCode(CorpScoped, Timestamped, db.Model):
    """A group code (群活码): one QR code over up to 5 groups; with ``auto_create_room`` WeCom
    creates ``room_base_name`` + number when they are all full. Members who join through it
    carry its ``state`` in `groupchat/get` (GroupMember.state)."""

    __tablename__ = "group_code"
    __table_args__ = (UniqueConstraint("corp_id", "config_id"), UniqueConstraint("corp_id", "state"))
    config_id: Mapped[str | None] = mapped_column(String(64))  # WeCom's, once created
    name: Mapped[str] = mapped_column(String(64))
    remark: Mapped[str | None] = mapped_column(String(30))
    scene: Mapped[int] = mapped_column(default=2)  # 1 mini-program plugin, 2 QR code
    state: Mapped[str] = mapped_column(String(30))
    auto_create_room: Mapped[bool] = mapped_column(default=True)
    room_base_name: Mapped[str | None] = mapped_column(String(40))
    room_base_id: Mapped[int | None]
    qr_code: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default=CommunityStatus.ACTIVE)


class GroupCodeChat(CorpScoped, db.Model):
    """A group behind a group code, in WeCom's order; ``source`` says whether the operator chose
    it or WeCom created it when the others were full."""

    __tablename__ = "group_code_chat"
    __table_args__ = (UniqueConstraint("group_code_id", "chat_id"),
                      Index("ix_group_code_chat_chat", "corp_id", "chat_id"))
    group_code_id: Mapped[int] = mapped_column(ForeignKey("group_code.id"))
    chat_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16), default="operator")  # operator | auto_created
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupLabel(CorpScoped, Timestamped, db.Model):
    """Our own label for customer groups, for targeting and reports."""

    __tablename__ = "group_label"
    __table_args__ = (UniqueConstraint("corp_id", "name"),)
    name: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    color: Mapped[str | None] = mapped_column(String(16))


class GroupLabelLink(CorpScoped, db.Model):
    __tablename__ = "group_label_link"
    __table_args__ = (UniqueConstraint("label_id", "chat_id"),
                      Index("ix_group_label_link_chat", "corp_id", "chat_id"))
    label_id: Mapped[int] = mapped_column(ForeignKey("group_label.id"))
    chat_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
