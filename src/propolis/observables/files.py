"""The files of file observables: multipart uploads, zip archives expanded into one file per
member, and references to attachments already stored (``InputAttachment``).

Every file ends up as an ``Attachment`` row flagged ``for_observable``; the bytes are
streamed into the content-addressed store, never held in memory.
"""

from __future__ import annotations

import zipfile
from typing import Any

import pyzipper
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from propolis.attachments import service as attachments
from propolis.attachments.models import Attachment
from propolis.core.errors import BadRequest, PayloadTooLarge
from propolis.core.security import Actor
from propolis.core.unzip import ZipLimits, check_members

MAX_ZIP_MEMBERS = 10_000
# pyzipper has its own copy of zipfile (and of its exceptions).
BAD_ZIP = (zipfile.BadZipFile, pyzipper.BadZipFile)


def resolve_files(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    files: dict[str, list[UploadFile]] | None,
) -> list[Attachment]:
    """The attachments an ``InputObservable`` designates, stored and ready to be linked.

    ``attachment`` may name multipart parts (strings), reference stored attachments
    (objects), or be absent when the request carries file parts named ``attachment``."""
    files = files or {}
    refs = data.get("attachment")
    if refs is None or refs == [] or refs == "":
        uploads = files.get("attachment", [])
        if not uploads:
            raise BadRequest("A file observable needs a file (multipart part 'attachment')")
        return _store_uploads(session, actor, uploads, data)
    out: list[Attachment] = []
    for ref in refs if isinstance(refs, list) else [refs]:
        if isinstance(ref, str):
            uploads = files.get(ref)
            if not uploads:
                raise BadRequest(f"No file part named {ref!r} in the request")
            out.extend(_store_uploads(session, actor, uploads, data))
        elif isinstance(ref, dict):
            out.append(_copy_reference(session, actor, ref))
        else:
            raise BadRequest("attachment must be a part name or {name, contentType, id}")
    return out


def _store_uploads(
    session: Session, actor: Actor, uploads: list[UploadFile], data: dict[str, Any]
) -> list[Attachment]:
    attachments.check_upload_sizes(session, uploads)
    if not data.get("isZip"):
        return [
            attachments.store_upload(session, actor, upload, for_observable=True)
            for upload in uploads
        ]
    password = data.get("zipPassword")
    if password is not None and not isinstance(password, str):
        raise BadRequest("zipPassword must be a string")
    out: list[Attachment] = []
    for upload in uploads:
        out.extend(_expand_zip(session, actor, upload, password))
    return out


def _expand_zip(
    session: Session, actor: Actor, upload: UploadFile, password: str | None
) -> list[Attachment]:
    """One attachment per file of the archive (ZipCrypto or AES encrypted, or plain)."""
    upload.file.seek(0)
    try:
        archive = pyzipper.AESZipFile(upload.file)
    except (*BAD_ZIP, OSError, ValueError) as exc:
        raise BadRequest(f"{upload.filename} is not a valid zip archive") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise BadRequest(f"{upload.filename} has more than {MAX_ZIP_MEMBERS} files")
        if not members:
            raise BadRequest(f"{upload.filename} contains no file")
        # Readers stop at the declared sizes, so their sum bounds what expansion writes (a
        # zip bomb is refused before anything is extracted).
        limit = attachments.max_upload_bytes(session)
        if limit is not None and sum(m.file_size for m in members) > limit:
            raise PayloadTooLarge(f"{upload.filename} expands to more than {limit} bytes")
        limits = ZipLimits.from_settings(session.info.get("settings"))
        check_members(members, limits, upload.filename or "the zip archive")
        pwd = password.encode() if password else None
        return [_store_member(session, actor, archive, member, pwd) for member in members]


def _store_member(
    session: Session,
    actor: Actor,
    archive: pyzipper.AESZipFile,
    member: zipfile.ZipInfo,
    pwd: bytes | None,
) -> Attachment:
    name = member.filename
    try:
        with archive.open(member, pwd=pwd) as stream:
            return attachments.store_stream(
                session,
                actor,
                stream,
                name=name,
                content_type=None,
                for_observable=True,
            )
    except RuntimeError as exc:  # zipfile's "password required" / "bad password"
        raise BadRequest(f"Cannot open {name} in the zip archive: wrong or missing password") from (
            exc
        )
    except (*BAD_ZIP, NotImplementedError, EOFError, ValueError) as exc:
        raise BadRequest(f"Cannot extract {name} from the zip archive: {exc}") from exc


def _copy_reference(session: Session, actor: Actor, ref: dict[str, Any]) -> Attachment:
    """``{name, contentType, id}``: a new use of a stored attachment the caller can see."""
    key = ref.get("id") or ref.get("_id")
    if not isinstance(key, str) or not key:
        raise BadRequest("An attachment reference needs the id of a stored attachment")
    source = attachments.get_visible_attachment(session, actor, key)
    copy = attachments.copy_attachment(session, actor, source, for_observable=True)
    if isinstance(ref.get("name"), str) and ref["name"].strip():
        copy.name = ref["name"].strip()[: attachments.MAX_NAME]
    if isinstance(ref.get("contentType"), str) and ref["contentType"]:
        copy.content_type = ref["contentType"][:255]
    return copy
