"""Message content shared by welcome templates and SOP steps: text with placeholders plus up to
9 attachments, in the form operators save, and the WeCom body it becomes at send time.

Saved form (validated against docs/wecom/limits.md#welcome-code when saved, never at send time; the limits are
scrm/content_limits.py):
  {"msgtype": "image", "media": <MediaAsset id>} | {"msgtype": "image", "pic_url": "https://..."}
  {"msgtype": "link", "title", "url", "desc"?, "picurl"?}
  {"msgtype": "miniprogram", "title", "appid", "page", "media": <image MediaAsset id>}
  {"msgtype": "video", "media": <id>} | {"msgtype": "file", "media": <id>}

Placeholders in text, rendered by us: ``{nickname}`` (the customer's WeChat name) and
``{staff_name}``. Nothing else in braces is interpreted (no str.format on operator text).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from scrm.content_limits import NICKNAME, STAFF_NAME, TEXT_MAX_BYTES
from scrm.extensions import db
from scrm.models import MediaAsset, MediaStatus

log = logging.getLogger(__name__)

MEDIA_KIND = {"image": "image", "miniprogram": "image", "video": "video", "file": "file"}


def validate_attachments(corp_id: str, attachments: list[dict]) -> dict[str, list[str]]:
    """Field messages for attachments that reference media the corp does not have (or of the
    wrong kind). Shape checks live in the marshmallow schema; this needs the database."""
    errors: dict[str, list[str]] = {}
    wanted = {item["media"] for item in attachments if item.get("media") is not None}
    assets = {a.id: a for a in db.session.scalars(
        select(MediaAsset).where(MediaAsset.corp_id == corp_id, MediaAsset.id.in_(wanted)))} if wanted else {}
    for index, item in enumerate(attachments):
        media_id = item.get("media")
        if media_id is None:
            continue
        asset = assets.get(media_id)
        kind = MEDIA_KIND[item["msgtype"]]
        if asset is None:
            errors[f"attachments.{index}.media"] = [f"No media {media_id}: upload it first (POST /api/v1/media)."]
        elif asset.kind != kind:
            errors[f"attachments.{index}.media"] = [
                f"Media {media_id} is a {asset.kind}; {item['msgtype']} needs a {kind}."]
    return errors


def render_text(text: str | None, *, nickname: str | None, staff_name: str | None,
                nickname_fallback: str = "") -> str | None:
    if not text:
        return None
    rendered = text.replace(NICKNAME, nickname or nickname_fallback).replace(STAFF_NAME, staff_name or "")
    return clip_bytes(rendered, TEXT_MAX_BYTES)


def clip_bytes(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary (a last resort: lengths are
    checked at save time with room for the placeholders)."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


@dataclass
class WeComAttachments:
    attachments: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)  # media not ready or expired: never sent


def wecom_attachments(corp_id: str, attachments: Iterable[dict], now: datetime) -> WeComAttachments:
    """The WeCom form, with the current media_id of each asset. An asset whose media_id is
    missing or expired is dropped (and logged): WeCom would refuse it (40007) and we never
    upload at send time; the renewal sweep keeps them fresh."""
    attachments = list(attachments)
    wanted = {item["media"] for item in attachments if item.get("media") is not None}
    rows = db.session.execute(select(MediaAsset.id, MediaAsset.media_id, MediaAsset.expires_at, MediaAsset.status)
                              .where(MediaAsset.corp_id == corp_id, MediaAsset.id.in_(wanted))) if wanted else []
    media = {row.id: row.media_id for row in rows
             if row.status == MediaStatus.READY and row.media_id and row.expires_at and row.expires_at > now}
    out = WeComAttachments()
    for item in attachments:
        kind = item["msgtype"]
        if kind == "link":
            body = {"title": item["title"], "url": item["url"]}
            body.update({k: item[k] for k in ("desc", "picurl") if item.get(k)})
            out.attachments.append({"msgtype": "link", "link": body})
            continue
        if kind == "image" and item.get("media") is None:
            out.attachments.append({"msgtype": "image", "image": {"pic_url": item["pic_url"]}})
            continue
        media_id = media.get(item.get("media"))
        if media_id is None:
            log.warning("attachment %s media %s has no valid media_id; not sent", kind, item.get("media"))
            out.dropped.append(item)
            continue
        if kind == "miniprogram":
            out.attachments.append({"msgtype": "miniprogram", "miniprogram": {
                "title": item["title"], "pic_media_id": media_id, "appid": item["appid"], "page": item["page"]}})
        else:
            out.attachments.append({"msgtype": kind, kind: {"media_id": media_id}})
    return out
