"""Media for welcome messages and SOP steps, uploaded to WeCom ahead of time.

A temporary media_id lives 3 days (docs/wecom/limits.md#content-limits; 40007 afterwards). We keep the bytes, upload
when the operator adds the asset, and the ``renew-media`` sweep uploads again once less than
RENEW_BEFORE is left, so every send finds a valid media_id and none ever uploads. An asset
WeCom did not accept yet stays ``pending`` and the sweep retries it.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from scrm.clock import from_timestamp, utcnow
from scrm.extensions import db
from scrm.models import MediaAsset, MediaStatus
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

LIFETIME = timedelta(days=3)
RENEW_BEFORE = timedelta(hours=12)  # the sweep runs every 10 min: many chances before expiry
RENEW_BATCH = 200
SIZE_LIMITS = {"image": 10 * 2**20, "video": 10 * 2**20, "file": 20 * 2**20}  # WeCom's, bytes
MIN_SIZE = 5


class MediaRejected(ValueError):
    """Input WeCom would refuse (type or size); ``field`` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def add_asset(corp_id: str, kind: str, filename: str, data: bytes, content_type: str | None = None) -> MediaAsset:
    """Store the asset and upload it now (commits). An upload error leaves it pending for the
    sweep; the caller shows the status."""
    if kind not in SIZE_LIMITS:
        raise MediaRejected("kind", f"Must be one of: {', '.join(SIZE_LIMITS)}.")
    if not MIN_SIZE <= len(data) <= SIZE_LIMITS[kind]:
        raise MediaRejected("file", f"A {kind} must be {MIN_SIZE} bytes to {SIZE_LIMITS[kind] // 2**20} MB.")
    asset = MediaAsset(corp_id=corp_id, kind=kind, filename=filename[:128] or "upload", content_type=content_type,
                       size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
                       status=MediaStatus.PENDING)
    db.session.add(asset)
    db.session.commit()
    upload(asset)
    return asset


def upload(asset: MediaAsset, now: datetime | None = None) -> bool:
    """(Re-)upload one asset; True when WeCom accepted it. Commits."""
    now = now or utcnow()
    try:
        reply = wecom_client(asset.corp_id).upload_media(asset.kind, asset.filename, asset.data,
                                                         asset.content_type)
    except WeComError as exc:
        asset.last_error = str(exc)
        if asset.status == MediaStatus.READY and asset.expires_at and asset.expires_at <= now:
            asset.status = MediaStatus.PENDING  # expired: no send may use it any more
        db.session.commit()
        log.warning("media %s upload failed: %s", asset.id, exc)
        return False
    uploaded_at = from_timestamp(reply.get("created_at")) or now
    asset.media_id, asset.uploaded_at = reply["media_id"], uploaded_at
    asset.expires_at = uploaded_at + LIFETIME
    asset.status, asset.last_error = MediaStatus.READY, None
    asset.uploads += 1
    db.session.commit()
    return True


def renew_due(now: datetime | None = None) -> int:
    """The sweep: upload every asset that is pending or expires within RENEW_BEFORE.
    Returns how many were uploaded."""
    now = now or utcnow()
    due = list(db.session.scalars(
        select(MediaAsset).where(or_(MediaAsset.status == MediaStatus.PENDING,
                                     MediaAsset.expires_at <= now + RENEW_BEFORE))
        .order_by(MediaAsset.expires_at.nulls_first(), MediaAsset.id).limit(RENEW_BATCH)))
    renewed = sum(1 for asset in due if upload(asset, now))
    if due:
        log.info("media renewal: %d of %d uploaded", renewed, len(due))
    return renewed
