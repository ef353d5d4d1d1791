"""The corp tag library (企业标签)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class TagGroup(CorpScoped, Timestamped, db.Model):
    __tablename__ = "tag_group"
    __table_args__ = (UniqueConstraint("corp_id", "group_id"),)
    group_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(64))
    order: Mapped[int | None] = mapped_column(BigInteger)  # [0, 2^32), bigger first
    create_time: Mapped[datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(default=False)
    strategy_id: Mapped[int | None]


class Tag(CorpScoped, Timestamped, db.Model):
    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("corp_id", "tag_id"),)
    tag_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    order: Mapped[int | None] = mapped_column(BigInteger)
    create_time: Mapped[datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(default=False)
    strategy_id: Mapped[int | None]
