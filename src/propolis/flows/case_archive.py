"""Case archives (``.thar``, spec §23): export a case with everything it holds into an
AES-encrypted zip (pyzipper), and import such an archive as a new case.

Layout of the archive (format version 1)::

    case.json         {"version": 1, "case": InputCase, "tasks": [...], "observables": [...],
                       "pages": [...], "procedures": [...], "comments": [...],
                       "customEvents": [...], "attachments": [...], "externalLinks": [...]}
    files/<sha256>    the bytes of every attachment (case, task log and observable files)

Entities are written in their *input* shape, so the import goes through the same services
(and the same validation) as the API.
"""

from __future__ import annotations

import io
import json
import zlib
from typing import IO, Any

import pyzipper
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers, UploadFile

from propolis import access
from propolis.attachments.models import Attachment
from propolis.attachments.service import storage_of, store_upload
from propolis.cases.links import add_external_link
from propolis.cases.models import Case, CustomEvent, ExternalLink
from propolis.cases.timeline import create_custom_event
from propolis.comments.models import Comment
from propolis.comments.service import create_comment
from propolis.core import validate
from propolis.core.errors import BadRequest
from propolis.core.security import Actor
from propolis.core.unzip import ZipLimits, check_members, read_member, spool_member
from propolis.fields.metrics import metrics_for
from propolis.fields.service import values_for
from propolis.flows import case_create
from propolis.observables.models import Observable
from propolis.observables.service import create_observables
from propolis.pages.models import Page
from propolis.pages.service import create_page
from propolis.procedures.models import Procedure
from propolis.procedures.service import create_procedure
from propolis.tasks.models import Task, TaskLog
from propolis.tasks.service import create_log, create_task

FORMAT_VERSION = 1
MANIFEST = "case.json"
CASE_FIELDS = {
    "title": "title",
    "description": "description",
    "severity": "severity",
    "startDate": "start_date",
    "endDate": "end_date",
    "flag": "flag",
    "tlp": "tlp",
    "pap": "pap",
    "status": "status",
    "summary": "summary",
    "impactStatus": "impact_status",
}


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------- export


def export_case(session: Session, actor: Actor, case: Case, password: Any) -> bytes:
    # The archive carries the whole case out of the platform under a password of the
    # caller's choosing: reading the case is not enough (TheHive asks for manageCase).
    access.require_case_permission(session, actor, case, "manageCase/update")
    if not isinstance(password, str) or not password:
        raise BadRequest("A password is required to export a case")
    files: dict[str, Any] = {}
    document = {
        "version": FORMAT_VERSION,
        "case": _case_document(session, case),
        "tasks": _tasks(session, actor, case, files),
        "observables": _observables(session, actor, case, files),
        "pages": _pages(session, case),
        "procedures": _procedures(session, case),
        "comments": _comments(session, case),
        "customEvents": _custom_events(session, case),
        "attachments": _case_attachments(session, case, files),
        "externalLinks": _external_links(session, case),
    }
    storage = storage_of(session)
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode("utf-8"))
        archive.writestr(MANIFEST, json.dumps(document, ensure_ascii=False))
        for sha256 in files:
            if storage.exists(sha256):
                archive.writestr(f"files/{sha256}", storage.read_bytes(sha256))
    return buffer.getvalue()


def _case_document(session: Session, case: Case) -> dict[str, Any]:
    data = {name: getattr(case, column) for name, column in CASE_FIELDS.items()}
    data["tags"] = list(case.tags or [])
    data["customFields"] = [
        {"name": cf["name"], "value": cf.get("value"), "order": cf.get("order", 0)}
        for cf in _custom_field_values(session, case)
    ]
    data["metrics"] = metrics_for(session, "case", [case.id])[case.id]
    return _clean(data)


def _custom_field_values(session: Session, case: Case) -> list[dict[str, Any]]:
    return values_for(session, "case", [case.id]).get(case.id, [])


def _file(attachment: Any, files: dict[str, Any]) -> dict[str, Any]:
    files[attachment.sha256] = True
    return {
        "name": attachment.name,
        "contentType": attachment.content_type,
        "sha256": attachment.sha256,
    }


def _tasks(session: Session, actor: Actor, case: Case, files: dict[str, Any]) -> list[dict]:
    tasks = session.scalars(
        select(Task)
        .where(Task.case_id == case.id, access.visible_task_filter(actor))
        .order_by(Task.order, Task.created_at, Task.id)
    ).all()
    logs = session.scalars(
        select(TaskLog)
        .where(TaskLog.task_id.in_([t.id for t in tasks]))
        .order_by(TaskLog.created_at, TaskLog.id)
    ).all()
    log_files = session.scalars(
        select(Attachment)
        .where(Attachment.log_id.in_([log.id for log in logs]))
        .order_by(Attachment.id)
    ).all()
    out = []
    for task in tasks:
        item = case_create.task_input(task)
        item.update(
            _clean({"status": task.status, "startDate": task.start_date, "endDate": task.end_date})
        )
        item["logs"] = [
            _clean(
                {
                    "message": log.message,
                    "startDate": log.date,
                    "includeInTimeline": log.include_in_timeline,
                    "attachments": [_file(a, files) for a in log_files if a.log_id == log.id],
                }
            )
            for log in logs
            if log.task_id == task.id
        ]
        out.append(item)
    return out


def _observables(
    session: Session, actor: Actor, case: Case, files: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Observable, Attachment)
        .outerjoin(Attachment, Attachment.id == Observable.attachment_id)
        .where(Observable.case_id == case.id, access.visible_observable_filter(actor))
        .order_by(Observable.created_at, Observable.id)
    ).all()
    out = []
    for observable, attachment in rows:
        item = _clean(
            {
                "dataType": observable.data_type,
                "data": observable.data,
                "message": observable.message,
                "startDate": observable.start_date,
                "tlp": observable.tlp,
                "pap": observable.pap,
                "tags": list(observable.tags or []),
                "ioc": observable.ioc,
                "sighted": observable.sighted,
                "sightedAt": observable.sighted_at,
                "ignoreSimilarity": observable.ignore_similarity,
            }
        )
        if attachment is not None:
            item["file"] = _file(attachment, files)
        out.append(item)
    return out


def _pages(session: Session, case: Case) -> list[dict[str, Any]]:
    pages = session.scalars(
        select(Page).where(Page.case_id == case.id).order_by(Page.order, Page.id)
    )
    return [case_create.page_input(p) for p in pages]


def _procedures(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Procedure).where(Procedure.case_id == case.id).order_by(Procedure.id)
    )
    return [
        _clean(
            {
                "patternId": p.pattern_id,
                "occurDate": p.occur_date,
                "tactic": p.tactic,
                "description": p.description,
            }
        )
        for p in rows
    ]


def _comments(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Comment).where(Comment.case_id == case.id).order_by(Comment.created_at, Comment.id)
    )
    return [{"message": c.message, "createdBy": c.created_by} for c in rows]


def _custom_events(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(CustomEvent).where(CustomEvent.case_id == case.id).order_by(CustomEvent.id)
    )
    return [
        _clean(
            {"date": e.date, "endDate": e.end_date, "title": e.title, "description": e.description}
        )
        for e in rows
    ]


def _case_attachments(session: Session, case: Case, files: dict[str, Any]) -> list[dict]:
    rows = session.scalars(
        select(Attachment)
        .where(Attachment.case_id == case.id, Attachment.for_observable == 0)
        .order_by(Attachment.id)
    )
    return [_file(a, files) for a in rows]


def _external_links(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ExternalLink).where(ExternalLink.case_id == case.id).order_by(ExternalLink.id)
    )
    return [{"url": link.url, "type": link.type} for link in rows]


# --------------------------------------------------------------------------- import


class _Archive:
    """The opened archive: its manifest and its files, streamed on demand within the
    archive limits (a crafted archive is refused before anything is decompressed)."""

    def __init__(self, source: IO[bytes], password: str, settings: Any) -> None:
        self.limits = ZipLimits.from_settings(settings)
        manifest_limit = getattr(settings, "archive_max_manifest_bytes", 64 * 1024 * 1024)
        try:
            self._zip = pyzipper.AESZipFile(source)
            self._zip.setpassword(password.encode("utf-8"))
            check_members(self._zip.infolist(), self.limits, "The case archive")
            manifest = read_member(self._zip, self._zip.getinfo(MANIFEST), manifest_limit)
            self.document = json.loads(manifest)
        except RuntimeError as exc:  # pyzipper: "Bad password for file ..."
            raise BadRequest("Invalid password for the case archive") from exc
        except (
            pyzipper.BadZipFile,
            KeyError,
            ValueError,
            OSError,
            EOFError,
            NotImplementedError,
            zlib.error,
        ) as exc:
            raise BadRequest(f"The file is not a readable case archive: {exc}") from exc
        if not isinstance(self.document, dict) or not isinstance(self.document.get("case"), dict):
            raise BadRequest("The file is not a case archive")

    def items(self, name: str) -> list[dict[str, Any]]:
        value = self.document.get(name) or []
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def upload(self, ref: Any) -> UploadFile | None:
        """An archived file as an upload (what the services take)."""
        if not isinstance(ref, dict) or not isinstance(ref.get("sha256"), str):
            return None
        try:
            member = self._zip.getinfo(f"files/{ref['sha256']}")
            content, size = spool_member(self._zip, member, self.limits.max_member_bytes)
        except (KeyError, RuntimeError, pyzipper.BadZipFile, OSError, EOFError, zlib.error):
            return None
        content_type = ref.get("contentType") or "application/octet-stream"
        return UploadFile(
            content,
            size=size,
            filename=str(ref.get("name") or ref["sha256"]),
            headers=Headers({"content-type": content_type}),
        )


def import_case(
    session: Session, actor: Actor, source: IO[bytes], data: dict[str, Any]
) -> tuple[Case, list[Any], list[Any]]:
    """Recreate an archived case in the caller's organisation. Returns the case, its
    observables (a value listed twice is merged into one) and procedures.
    Anything invalid in the archive fails the whole import (nothing is created)."""
    password = validate.nonempty(data, "password")
    archive = _Archive(source, password, session.info.get("settings"))
    case_input = dict(archive.document["case"])
    case_input.pop("assignee", None)  # users differ between platforms
    for name in ("sharingParameters", "taskRule", "observableRule"):
        if data.get(name) is not None:
            case_input[name] = data[name]
    case = case_create.create_case(session, actor, case_input)
    _import_tasks(session, actor, case, archive)
    observables = _import_observables(session, actor, case, archive)
    procedures = _import_each(session, actor, case, archive, "procedures", _procedure)
    _import_each(session, actor, case, archive, "pages", _page)
    _import_each(session, actor, case, archive, "comments", _comment)
    _import_each(session, actor, case, archive, "customEvents", _custom_event)
    _import_each(session, actor, case, archive, "externalLinks", _external_link)
    _import_attachments(session, actor, case, archive)
    return case, observables, procedures


def _import_each(
    session: Session, actor: Actor, case: Case, archive: _Archive, part: str, create: Any
) -> list[Any]:
    return [create(session, actor, case, item) for item in archive.items(part)]


def _procedure(session: Session, actor: Actor, case: Case, item: dict[str, Any]) -> Any:
    return create_procedure(session, actor, case=case, data=item)


def _page(session: Session, actor: Actor, case: Case, item: dict[str, Any]) -> Any:
    return create_page(session, actor, case, item)


def _comment(session: Session, actor: Actor, case: Case, item: dict[str, Any]) -> Any:
    return create_comment(session, actor, case=case, data={"message": item.get("message")})


def _custom_event(session: Session, actor: Actor, case: Case, item: dict[str, Any]) -> Any:
    return create_custom_event(session, actor, case, item)


def _external_link(session: Session, actor: Actor, case: Case, item: dict[str, Any]) -> Any:
    return add_external_link(session, actor, case, item)


def _import_tasks(session: Session, actor: Actor, case: Case, archive: _Archive) -> None:
    for item in archive.items("tasks"):
        logs = item.pop("logs", None) or []
        task = create_task(session, actor, case=case, data=item)
        for log in logs if isinstance(logs, list) else []:
            if not isinstance(log, dict):
                continue
            uploads = [archive.upload(f) for f in log.pop("attachments", None) or []]
            create_log(session, actor, task, log, [u for u in uploads if u is not None])


def _import_observables(session: Session, actor: Actor, case: Case, archive: _Archive) -> list[Any]:
    created: list[Any] = []
    for item in archive.items("observables"):
        file_ref = item.pop("file", None)
        files = None
        if file_ref is not None:
            upload = archive.upload(file_ref)
            if upload is None:
                raise BadRequest(f"The archive lacks the file of observable {file_ref}")
            files = {"attachment": [upload]}
        created.extend(create_observables(session, actor, case=case, data=item, files=files))
    return created


def _import_attachments(session: Session, actor: Actor, case: Case, archive: _Archive) -> None:
    for ref in archive.items("attachments"):
        upload = archive.upload(ref)
        if upload is None:
            raise BadRequest(f"The archive lacks the file {ref.get('name')}")
        store_upload(session, actor, upload, case_id=case.id)
