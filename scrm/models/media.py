"""Media uploaded to WeCom ahead of time (temporary media_id: valid 3 days, docs/wecom/api.md#temporary-media).

The bytes are kept so the renewal sweep can upload them again before the media_id expires;
a send only ever reads ``media_id``, it never uploads.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class MediaStatus(StrEnum):
    PENDING = "pending"  # stored, not (yet) accepted by WeCom: the sweep keeps trying
    READY = "ready"      # media_id valid until expires_at


class MediaAsset(CorpScoped, Timestamped, db.Model):
    __tablename__ = "media_asset"
    __table_args__ = (Index("ix_media_asset_expiry", "status", "expires_at"),)
    kind: Mapped[str] = mapped_column(String(16))  # image | video | file (media/upload ?type=)
    filename: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))  # loaded only to (re-)upload
    status: Mapped[str] = mapped_column(String(16), default=MediaStatus.PENDING)
    media_id: Mapped[str | None] = mapped_column(String(256))
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    uploads: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
