"""Avatars of users and organisations: a base64 image in the input, served back as bytes.

Only raster formats a browser shows without running anything (PNG, JPEG, GIF, WebP) are
accepted: an SVG avatar could carry script."""

from __future__ import annotations

import base64
import binascii
import hashlib

from fastapi.responses import Response

from propolis.core.errors import invalid

MAX_AVATAR_BYTES = 1024 * 1024
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode(value: str) -> bytes:
    """The image bytes of a stored avatar (accepts a ``data:image/...;base64,`` prefix)."""
    if value.startswith("data:"):
        value = value.partition(",")[2]
    return base64.b64decode(value, validate=False)


def checked(field: str, value: object) -> str | None:
    """Validate an avatar input: ``None``/``""`` removes it, else a base64 image."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(field, "must be a base64-encoded image", None)
    try:
        data = decode(value.strip())
    except (binascii.Error, ValueError) as exc:
        raise invalid(field, "is not valid base64", None) from exc
    if len(data) > MAX_AVATAR_BYTES:
        raise invalid(field, f"image larger than {MAX_AVATAR_BYTES} bytes", None)
    if image_type(data) is None:
        raise invalid(field, "must be a PNG, JPEG, GIF or WebP image", None)
    return value.strip()


def fingerprint(value: str) -> str:
    """Stable name of an avatar in its URL (changes when the image changes)."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def response(value: str) -> Response:
    """The stored avatar as an image response (never sniffed into something else)."""
    data = decode(value)
    return Response(
        data,
        media_type=image_type(data) or "application/octet-stream",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


# How a route answering an avatar documents it (``responses=``).
MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream")
