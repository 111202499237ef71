"""HTTP responses that stream stored files: downloads, inline views, password-protected ZIPs."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from propolis.attachments import zipcrypto
from propolis.attachments.models import Attachment
from propolis.core.errors import BadRequest, NotFound
from propolis.core.storage import Storage

ZIP_CONTENT_TYPE = "application/zip"


def _storage(request: Request) -> Storage:
    return request.app.state.storage


def _check_present(storage: Storage, attachment: Attachment) -> None:
    # A database row whose bytes are gone (restored database, wiped folder) is a 404, not a 500.
    if not storage.exists(attachment.sha256):
        raise NotFound(f"The content of attachment {attachment.name} is not available")


def content_disposition(kind: str, name: str) -> str:
    """``attachment; filename="name"``; non-ASCII names also get the RFC 5987 form."""
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download_response(request: Request, attachment: Attachment, as_zip: bool = False) -> Response:
    """The exact stored bytes (or a ZipCrypto archive of them, password ``malware``)."""
    storage = _storage(request)
    _check_present(storage, attachment)
    if as_zip:
        return _zip_response(storage, attachment)
    headers = {
        # Set as a header, not media_type: Starlette would append a charset to text/* types.
        "Content-Type": attachment.content_type,
        "Content-Length": str(attachment.size),
        "Content-Disposition": content_disposition("attachment", attachment.name),
    }
    return StreamingResponse(storage.read_chunks(attachment.sha256), headers=headers)


def _zip_response(storage: Storage, attachment: Attachment) -> Response:
    try:
        chunks = zipcrypto.encrypted_zip(
            attachment.name,
            storage.read_chunks(attachment.sha256),
            attachment.size,
            timestamp=attachment.created_at / 1000,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    headers = {
        "Content-Length": str(zipcrypto.archive_size(attachment.name, attachment.size)),
        "Content-Disposition": content_disposition("attachment", attachment.name + ".zip"),
    }
    return StreamingResponse(chunks, media_type=ZIP_CONTENT_TYPE, headers=headers)


def etag(attachment: Attachment) -> str:
    return f'"{attachment.sha256}"'


def inline_response(request: Request, attachment: Attachment) -> Response:
    """The file for display in a browser; ``If-None-Match`` with the same ETag gives 304."""
    tag = etag(attachment)
    cache = {"ETag": tag, "Cache-Control": "private, max-age=0, must-revalidate"}
    wanted = request.headers.get("if-none-match", "")
    if tag in [v.strip() for v in wanted.split(",")] or wanted.strip() == "*":
        return Response(status_code=304, headers=cache)
    storage = _storage(request)
    _check_present(storage, attachment)
    headers = {
        **cache,
        "Content-Type": attachment.content_type,
        "Content-Length": str(attachment.size),
        "Content-Disposition": content_disposition("inline", attachment.name),
        # Stored files are untrusted: never let a browser sniff them into HTML or script.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return StreamingResponse(storage.read_chunks(attachment.sha256), headers=headers)
