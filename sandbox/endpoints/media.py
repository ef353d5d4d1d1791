"""Temporary media (上传临时素材, doc 90253): ``POST media/upload?type=image|voice|video|file``,
multipart field ``media``. A media_id is valid for 3 days (``WorldConfig.media_ttl``); messages
that name an unknown or expired one are refused with 40007, as WeCom does."""
from __future__ import annotations

from sandbox.endpoints.base import Call, endpoint
from sandbox.errors import ApiError
from sandbox.world import World

# bytes: at least 5, at most (WeCom's limits per type)
SIZE_LIMITS = {"image": 10 * 2**20, "voice": 2 * 2**20, "video": 10 * 2**20, "file": 20 * 2**20}
MIN_SIZE = 5


def check_media(world: World, media_id: str) -> None:
    item = world.media.get(media_id)
    if item is None:
        raise ApiError(40007, f"unknown media_id {media_id[:40]!r}")
    if world.now() - item[1] > world.config.media_ttl:
        raise ApiError(40007, "media_id expired (temporary media live 3 days)")


@endpoint("media/upload")
def upload(call: Call) -> dict:
    world = call.world
    kind = call.args.get("type", "")
    if kind not in SIZE_LIMITS:
        raise ApiError(40004, f"type {kind!r}")
    upload = (call.files or {}).get("media")
    if upload is None:
        raise ApiError(41006, "multipart field media is required")
    size = len(upload.read())
    if not MIN_SIZE <= size <= SIZE_LIMITS[kind]:
        raise ApiError(40006, f"{kind} must be {MIN_SIZE} B to {SIZE_LIMITS[kind]} B, got {size} B")
    media_id = world.new_id("3", 64, world.media)
    now = world.now()
    world.media[media_id] = (kind, now)
    world.feed.add("media_uploaded", type=kind, media_id=media_id, filename=upload.filename, size=size)
    return {"type": kind, "media_id": media_id, "created_at": str(int(now))}
