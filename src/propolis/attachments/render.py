"""The one rendering of an attachment (``OutputAttachment``, spec §16.2)."""

from __future__ import annotations

from typing import Any

from propolis.attachments.models import Attachment
from propolis.core.render import meta


def render_attachment(attachment: Attachment) -> dict[str, Any]:
    out = meta(attachment, "Attachment")
    out.update(
        name=attachment.name,
        # hex digests, longest first
        hashes=[attachment.sha256, attachment.sha1, attachment.md5],
        size=attachment.size,
        contentType=attachment.content_type,
        id=attachment.sha256,
        path=f"/{attachment.sha256[:2]}/{attachment.sha256}",
        extraData={},
    )
    return out


def render_attachments(attachments: list[Attachment]) -> list[dict[str, Any]]:
    return [render_attachment(a) for a in attachments]
