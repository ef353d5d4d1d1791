"""Customer group chats (客户群) and their members."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class GroupChatStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


class GroupChat(CorpScoped, Timestamped, db.Model):
    __tablename__ = "group_chat"
    __table_args__ = (UniqueConstraint("corp_id", "chat_id"),
                      Index("ix_group_chat_updated", "corp_id", "updated_at"))  # groups written since (group SOPs)
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(256))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    notice: Mapped[str | None] = mapped_column(Text)
    admin_userids: Mapped[list | None] = mapped_column(JSON)
    create_time: Mapped[datetime | None] = mapped_column(DateTime)
    member_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=GroupChatStatus.ACTIVE)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime)
    seen_run_id: Mapped[int | None]  # the last sync run that found the group in groupchat/list


class GroupMember(CorpScoped, Timestamped, db.Model):
    """Membership row; kept after the member quits (quit_time set) for history."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("corp_id", "chat_id", "member_id"),
                      # rows written since the group SOP sweep last looked (the new-member series)
                      Index("ix_group_member_updated", "corp_id", "updated_at"))
    chat_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(String(64), index=True)  # userid or external_userid
    type: Mapped[int | None]  # 1 staff, 2 external contact
    unionid: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(128))
    group_nickname: Mapped[str | None] = mapped_column(String(128))
    join_time: Mapped[datetime | None] = mapped_column(DateTime)
    join_scene: Mapped[int | None]
    invitor: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    quit_time: Mapped[datetime | None] = mapped_column(DateTime)
    quit_scene: Mapped[int | None]
