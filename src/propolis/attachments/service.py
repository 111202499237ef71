"""Attachments: files attached to an organisation, an alert, a case, a task log or an observable.

The bytes live once per sha256 in the content-addressed store (``core/storage.py``); an
``Attachment`` row is one use of them: a name, a content type and a container. Uploads are
streamed from the (disk-spooled) multipart part into the store in chunks, never read whole.

Visibility follows the container: organisation-level files belong to their organisation,
alert files to the alert's organisation, case and log files to the organisations that see
the case, observable files to those that see the observable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from propolis import access
from propolis.alerts.models import Alert
from propolis.attachments.models import Attachment
from propolis.cases import service as cases
from propolis.cases.models import Case
from propolis.core import events, moves
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import BadRequest, CreateError, PayloadTooLarge, missing
from propolis.core.security import Actor
from propolis.core.storage import Storage, StoredFile
from propolis.observables.models import Observable
from propolis.settings import Settings
from propolis.tasks.models import Task, TaskLog

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_NAME = 512


# --------------------------------------------------------------------------- the file store


def storage_of(session: Session) -> Storage:
    """The file store of the running app (``core/web.py`` puts it on every request session).

    Sessions opened outside a request (workers, CLI) get the store of the configured data
    folder, the same one the app uses."""
    storage = session.info.get("storage")
    if storage is None:
        storage = session.info["storage"] = Storage(
            Path(_settings(session).data_dir) / "attachments"
        )
    return storage


def _settings(session: Session) -> Any:
    settings = session.info.get("settings")
    if settings is None:
        settings = session.info["settings"] = Settings()
    return settings


def max_upload_bytes(session: Session) -> int | None:
    return getattr(_settings(session), "max_upload_bytes", None)


def check_upload_sizes(session: Session, uploads: Iterable[UploadFile]) -> None:
    """413 before anything is stored when one file of the request is over the limit."""
    limit = max_upload_bytes(session)
    if limit is None:
        return
    for upload in uploads:
        if upload.size is not None and upload.size > limit:
            raise PayloadTooLarge(f"File {upload.filename} is larger than {limit} bytes")


def put_stream(session: Session, stream: BinaryIO) -> StoredFile:
    limit = max_upload_bytes(session)
    try:
        return storage_of(session).put_stream(stream, max_bytes=limit)
    except ValueError as exc:
        raise PayloadTooLarge(f"File larger than {limit} bytes") from exc


# --------------------------------------------------------------------------- creating


def store_upload(
    session: Session,
    actor: Actor,
    upload: UploadFile,
    *,
    case_id: int | None = None,
    alert_id: int | None = None,
    log_id: int | None = None,
    for_observable: bool = False,
    can_rename: bool = True,
) -> Attachment:
    """Stream one uploaded file into the store and record it in its container."""
    check_upload_sizes(session, [upload])
    upload.file.seek(0)
    return store_stream(
        session,
        actor,
        upload.file,
        name=upload.filename or "",
        content_type=upload.content_type,
        case_id=case_id,
        alert_id=alert_id,
        log_id=log_id,
        for_observable=for_observable,
        can_rename=can_rename,
    )


def store_stream(
    session: Session,
    actor: Actor,
    stream: BinaryIO,
    *,
    name: str,
    content_type: str | None,
    case_id: int | None = None,
    alert_id: int | None = None,
    log_id: int | None = None,
    for_observable: bool = False,
    can_rename: bool = True,
) -> Attachment:
    """Like :func:`store_upload` for any readable binary stream (zip members, imports)."""
    name = _clean_name(name)
    container = {"case_id": case_id, "alert_id": alert_id, "log_id": log_id}
    if not for_observable:
        name = _free_name(session, actor, name, container, can_rename)
    stored = put_stream(session, stream)
    return _add_row(
        session,
        actor,
        name=name,
        content_type=content_type or DEFAULT_CONTENT_TYPE,
        stored=stored,
        for_observable=for_observable,
        **container,
    )


def copy_attachment(
    session: Session,
    actor: Actor,
    source: Attachment,
    *,
    case_id: int | None = None,
    alert_id: int | None = None,
    log_id: int | None = None,
    for_observable: bool = True,
) -> Attachment:
    """A new use of already stored bytes (an observable copied into a case, an
    ``InputAttachment`` reference): no byte is copied."""
    stored = StoredFile(source.sha256, source.sha1, source.md5, source.size)
    return _add_row(
        session,
        actor,
        name=source.name,
        content_type=source.content_type,
        stored=stored,
        for_observable=for_observable,
        case_id=case_id,
        alert_id=alert_id,
        log_id=log_id,
    )


def _add_row(
    session: Session,
    actor: Actor,
    *,
    name: str,
    content_type: str,
    stored: StoredFile,
    for_observable: bool,
    case_id: int | None,
    alert_id: int | None,
    log_id: int | None,
) -> Attachment:
    attachment = Attachment(
        org_id=actor.org_id,
        name=name,
        content_type=content_type[:255],
        size=stored.size,
        sha256=stored.sha256,
        sha1=stored.sha1,
        md5=stored.md5,
        case_id=case_id,
        alert_id=alert_id,
        log_id=log_id,
        for_observable=1 if for_observable else 0,
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(attachment)
    session.flush()
    if not for_observable:  # an observable file is part of the observable's own event
        events.record(
            session,
            actor.login,
            actor.org_id,
            "create",
            "Attachment",
            attachment.id,
            {"name": name, "size": stored.size, "sha256": stored.sha256},
            root_id=_root(session, case_id, alert_id, log_id),
        )
    return attachment


def _root(
    session: Session, case_id: int | None, alert_id: int | None, log_id: int | None
) -> int | None:
    """The case or alert an attachment's event belongs to (a task log's is its case)."""
    if case_id is not None or alert_id is not None:
        return case_id or alert_id
    if log_id is None:
        return None
    return session.scalar(
        select(Task.case_id).join(TaskLog, TaskLog.task_id == Task.id).where(TaskLog.id == log_id)
    )


def _clean_name(name: str) -> str:
    # Browsers and some clients send a full local path: keep the last component only.
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise BadRequest("An attachment needs a file name")
    if len(name) > MAX_NAME:
        raise BadRequest(f"Attachment name longer than {MAX_NAME} characters")
    return name


def _free_name(
    session: Session, actor: Actor, name: str, container: dict[str, int | None], can_rename: bool
) -> str:
    """The name itself when unused in the container; else ``stem (n).ext`` or a 400."""
    taken = set(
        session.scalars(
            select(Attachment.name).where(
                _container_condition(actor, container),
                Attachment.name.like(_stem(name) + "%", escape="\\"),
            )
        )
    )
    if name not in taken:
        return name
    if not can_rename:
        raise CreateError(f"Attachment {name} already exists")
    stem, ext = os.path.splitext(name)
    counter = 1
    while f"{stem} ({counter}){ext}" in taken:
        counter += 1
    return f"{stem} ({counter}){ext}"


def _stem(name: str) -> str:
    stem = os.path.splitext(name)[0]
    return stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _container_condition(actor: Actor, container: dict[str, int | None]) -> ColumnElement[bool]:
    for key in ("case_id", "alert_id", "log_id"):
        if container.get(key) is not None:
            return getattr(Attachment, key) == container[key]
    return and_(organisation_level(), Attachment.org_id == actor.org_id)


# --------------------------------------------------------------------------- container helpers


def add_to_organisation(
    session: Session, actor: Actor, uploads: list[UploadFile], can_rename: bool
) -> list[Attachment]:
    actor.require("manageConfig")
    return _store_all(session, actor, uploads, can_rename=can_rename)


def add_to_alert(
    session: Session, actor: Actor, alert: Any, uploads: list[UploadFile], can_rename: bool
) -> list[Attachment]:
    actor.require("manageAlert/update")
    added = _store_all(session, actor, uploads, can_rename=can_rename, alert_id=alert.id)
    alert.touch(actor.login)
    return added


def add_to_case(
    session: Session, actor: Actor, case: Any, uploads: list[UploadFile], can_rename: bool
) -> list[Attachment]:
    _require_on_case(session, actor, case)
    added = _store_all(session, actor, uploads, can_rename=can_rename, case_id=case.id)
    _touch_case(session, actor, case)
    return added


def _store_all(
    session: Session, actor: Actor, uploads: list[UploadFile], **where: Any
) -> list[Attachment]:
    if not uploads:
        raise BadRequest("No file in the request (multipart parts named 'attachments')")
    check_upload_sizes(session, uploads)
    return [store_upload(session, actor, upload, **where) for upload in uploads]


def _touch_case(session: Session, actor: Actor, case: Any) -> None:
    cases.touch_case(session, actor, case)


def _require_on_case(session: Session, actor: Actor, case: Any) -> None:
    """Case files need ``manageCase/update`` as granted by the organisation's share."""
    access.require_case_permission(session, actor, case, "manageCase/update")


# --------------------------------------------------------------------------- reading


def organisation_level() -> ColumnElement[bool]:
    return and_(
        Attachment.case_id.is_(None),
        Attachment.alert_id.is_(None),
        Attachment.log_id.is_(None),
        Attachment.for_observable == 0,
    )


def visible_condition(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the attachment is visible from the caller's organisation."""
    visible_logs = (
        select(TaskLog.id)
        .join(Task, Task.id == TaskLog.task_id)
        .where(Task.case_id.isnot(None), access.visible_task_filter(actor, Task))
    )
    visible_observable_files = select(Observable.attachment_id).where(
        Observable.attachment_id.isnot(None), access.visible_observable_filter(actor)
    )
    return or_(
        and_(organisation_level(), Attachment.org_id == actor.org_id),
        Attachment.alert_id.in_(select(Alert.id).where(Alert.org_id == actor.org_id)),
        access.case_visible(actor, Attachment.case_id),
        Attachment.log_id.in_(visible_logs),
        and_(Attachment.for_observable == 1, Attachment.id.in_(visible_observable_files)),
    )


def ref_condition(ref: str) -> ColumnElement[bool] | None:
    """An attachment reference: its ``_id`` (``~12``) or its storage id (the sha256)."""
    row_id = parse_id(ref)
    if row_id is not None:
        return Attachment.id == row_id
    if len(ref) == 64 and all(c in "0123456789abcdef" for c in ref.lower()):
        return Attachment.sha256 == ref.lower()
    return None


def get_visible_attachment(session: Session, actor: Actor, ref: str) -> Attachment:
    condition = ref_condition(ref)
    found = None
    if condition is not None:
        found = session.scalar(
            select(Attachment)
            .where(condition, visible_condition(actor))
            .order_by(Attachment.id)
            .limit(1)
        )
    if found is None:
        raise missing("Attachment", ref)
    return found


def get_in_container(
    session: Session,
    ref: str,
    *,
    case_id: int | None = None,
    alert_id: int | None = None,
    log_id: int | None = None,
    attachment_id: int | None = None,
) -> Attachment:
    """An attachment of one container (the container's visibility is checked by the caller)."""
    condition = ref_condition(ref)
    if condition is None:
        raise missing("Attachment", ref)
    stmt = select(Attachment).where(condition)
    if case_id is not None:
        stmt = stmt.where(Attachment.case_id == case_id)
    elif alert_id is not None:
        stmt = stmt.where(Attachment.alert_id == alert_id)
    elif log_id is not None:
        stmt = stmt.where(Attachment.log_id == log_id)
    elif attachment_id is not None:
        stmt = stmt.where(Attachment.id == attachment_id)
    else:
        raise missing("Attachment", ref)
    found = session.scalar(stmt.order_by(Attachment.id).limit(1))
    if found is None:
        raise missing("Attachment", ref)
    return found


def for_logs(session: Session, log_ids: list[int]) -> dict[int, list[Attachment]]:
    """Attachments of several task logs at once (rendering a list of logs: one query)."""
    out: dict[int, list[Attachment]] = {i: [] for i in log_ids}
    if not log_ids:
        return out
    rows = session.scalars(
        select(Attachment)
        .where(Attachment.log_id.in_(log_ids))
        .order_by(Attachment.created_at, Attachment.id)
    )
    for row in rows:
        out[row.log_id].append(row)
    return out


# --------------------------------------------------------------------------- deleting


def delete_attachment(session: Session, actor: Actor, attachment: Attachment) -> None:
    """Remove one use of a file. The caller has resolved it through its (visible) container.

    Observable files go with their observable (deleting the observable removes them)."""
    if attachment.for_observable:
        raise BadRequest("An observable file is removed by deleting the observable")
    _require_container_permission(session, actor, attachment)
    root = _root(session, attachment.case_id, attachment.alert_id, attachment.log_id)
    details = {"name": attachment.name, "sha256": attachment.sha256}
    session.execute(delete(Attachment).where(Attachment.id == attachment.id))
    events.record(
        session, actor.login, actor.org_id, "delete", "Attachment", attachment.id, details, root
    )


def _require_container_permission(session: Session, actor: Actor, attachment: Attachment) -> None:
    if attachment.case_id is not None:
        case = session.get(Case, attachment.case_id)
        _require_on_case(session, actor, case)
        _touch_case(session, actor, case)
    elif attachment.alert_id is not None:
        actor.require("manageAlert/update")
        alert = session.get(Alert, attachment.alert_id)
        if alert is not None:
            alert.touch(actor.login)
    elif attachment.log_id is not None:
        _require_on_log(session, actor, attachment.log_id)
    else:
        actor.require("manageConfig")


def _require_on_log(session: Session, actor: Actor, log_id: int) -> None:
    case = session.scalar(
        select(Case)
        .join(Task, Task.case_id == Case.id)
        .join(TaskLog, TaskLog.task_id == Task.id)
        .where(TaskLog.id == log_id)
    )
    if case is None:
        actor.require("manageTask")
        return
    access.require_case_permission(session, actor, case, "manageTask")


def delete_observable_file(session: Session, attachment_id: int | None) -> None:
    """Drop the attachment row of a deleted observable (the bytes stay in the store)."""
    if attachment_id is not None:
        session.execute(
            delete(Attachment).where(Attachment.id == attachment_id, Attachment.for_observable == 1)
        )


def move_to_case(
    session: Session, actor: Actor, source_ids: list[int], target: Any
) -> list[Attachment]:
    """Case-level files of merged cases now belong to the merged case ``target``; a name
    already used there takes a ``name (n).ext`` form, as a second upload would.
    (Observable files follow their observable's copy.)"""
    moved = moves.move_to_case(
        session, actor, Attachment, "Attachment", source_ids, target, Attachment.for_observable == 0
    )
    for attachment in moved:  # oldest first: the first file of a name keeps it
        taken = session.scalars(
            select(Attachment.id).where(
                Attachment.case_id == target.id,
                Attachment.for_observable == 0,
                Attachment.id < attachment.id,
                Attachment.name == attachment.name,
            )
        ).first()
        if taken is not None:
            attachment.name = _free_name(
                session, actor, attachment.name, {"case_id": target.id}, True
            )
            session.flush()
    return moved


def stored_digests(session: Session) -> set[str]:
    """The sha256 of every stored file an attachment row uses."""
    return set(session.scalars(select(Attachment.sha256).distinct()))


def stored_usage(session: Session) -> tuple[int, int]:
    """(files, bytes) of the file store as the attachment rows see it: each sha256 once,
    as the store keeps it. One walk of ``ix_attachment_sha256`` rather than of the disk."""
    per_file = (
        select(Attachment.sha256, func.max(Attachment.size).label("size"))
        .group_by(Attachment.sha256)
        .subquery()
    )
    files, size = session.execute(
        select(func.count(), func.coalesce(func.sum(per_file.c.size), 0)).select_from(per_file)
    ).one()
    return int(files), int(size)


def delete_unused_observable_files(session: Session, attachment_ids: list[int]) -> None:
    """Drop the rows of observable files whose observables are gone (the bytes stay in the
    store until ``propolis storage gc`` finds them unreferenced)."""
    if attachment_ids:
        session.execute(
            delete(Attachment).where(
                Attachment.id.in_(attachment_ids), Attachment.for_observable == 1
            )
        )


# The HTTP side (streamed downloads), re-exported here as the package's public interface.
from propolis.attachments.downloads import download_response, inline_response  # noqa: E402, F401
