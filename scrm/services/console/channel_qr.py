"""A channel code's QR image, fetched from the URL WeCom gave for it (``Channel.qr_code``) so the
console can show and download it from its own origin (its CSP allows images from itself only).
Only that stored URL is ever fetched; the answer must be an image of at most MAX_BYTES."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from scrm.models import Channel
from scrm.services.validation import Invalid

MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = (5, 10)
TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg", "image/webp": "webp"}


@dataclass
class QrImage:
    data: bytes
    content_type: str
    extension: str


class QrUnavailable(Exception):
    """WeCom's image host did not give an image."""


def fetch(channel: Channel) -> QrImage:
    url = channel.qr_code or ""
    if urlsplit(url).scheme not in ("http", "https"):
        raise Invalid({"qr_code": ["This channel code has no QR image (a mini-program button, or deleted)."]})
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False) as response:
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or content_type not in TYPES:
                raise QrUnavailable(f"HTTP {response.status_code}, {content_type or 'no content type'}")
            data = b""
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > MAX_BYTES:
                    raise QrUnavailable("image too large")
    except requests.RequestException as exc:
        raise QrUnavailable(type(exc).__name__) from None
    return QrImage(data, content_type, TYPES[content_type])
