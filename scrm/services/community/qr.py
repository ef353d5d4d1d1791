"""A group code's QR code image, fetched from where WeCom keeps it (`qr_code`, an image URL on
WeCom's CDN; the simulator's in sandbox mode) so the console can show and download it from our
own origin (its Content-Security-Policy allows images from nowhere else)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from scrm.models import GroupCode

TIMEOUT = 10  # s
MAX_BYTES = 2 * 1024 * 1024


class QrUnavailable(Exception):
    """No image: the code has no QR code (scene 1, or deleted), or WeCom's CDN did not give one."""


@dataclass(frozen=True)
class QrImage:
    content: bytes
    mimetype: str


def image(code: GroupCode) -> QrImage:
    url = code.qr_code or ""
    if urlsplit(url).scheme not in ("http", "https"):
        raise QrUnavailable("This group code has no QR code.")
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True) as reply:
            mimetype = (reply.headers.get("Content-Type") or "").split(";")[0].strip()
            if reply.status_code != 200 or not mimetype.startswith("image/"):
                raise QrUnavailable(f"The QR code image could not be fetched (HTTP {reply.status_code}).")
            content = b""
            for chunk in reply.iter_content(64 * 1024):
                content += chunk
                if len(content) > MAX_BYTES:
                    break
    except requests.RequestException as exc:
        raise QrUnavailable(f"The QR code image could not be fetched ({type(exc).__name__}).") from None
    if len(content) > MAX_BYTES:
        raise QrUnavailable("The QR code image is too large.")
    return QrImage(content, mimetype)
