"""MISP connector without MISP servers (spec §22): the status, an empty synchronisation, and
the import of a MISP event file as a case, its attributes becoming observables.

No MISP server can be configured yet, so exporting a case to a server is always "not
found", with TheHive's exact message.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session
from starlette.datastructures import Headers, UploadFile

from propolis.cases.models import Case
from propolis.core.errors import BadRequest, NotFound
from propolis.core.security import Actor
from propolis.core.unzip import ZipLimits, check_members, spool_member
from propolis.flows import case_create
from propolis.observables.service import create_observables

NOT_AN_EVENT = "Could not convert json to MISP event"
MALWARE_ZIP_PASSWORD = b"infected"

# MISP attribute type -> TheHive observable type (first match wins; "a|b" types are split).
_TYPES = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "domain": "domain",
    "hostname": "hostname",
    "url": "url",
    "link": "url",
    "uri": "uri_path",
    "email": "mail",
    "email-src": "mail",
    "email-dst": "mail",
    "email-reply-to": "mail",
    "target-email": "mail",
    "whois-registrant-email": "mail",
    "email-subject": "mail-subject",
    "filename": "filename",
    "regkey": "registry",
    "user-agent": "user-agent",
    "AS": "autonomous-system",
    "port": "other",
}
_HASHES = {
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512/224",
    "sha512/256",
    "ssdeep",
    "imphash",
    "authentihash",
    "pehash",
    "tlsh",
    "impfuzzy",
    "vhash",
    "cdhash",
}
# Composite types "left|right": observable types of each part (None: drop that part).
_PAIRS = {
    "ip-src|port": ("ip", None),
    "ip-dst|port": ("ip", None),
    "domain|ip": ("domain", "ip"),
    "hostname|port": ("hostname", None),
    "regkey|value": ("registry", None),
}
_THREAT_LEVEL_SEVERITY = {"1": 3, "2": 2, "3": 1, "4": 2}
_TLP_TAGS = {"tlp:clear": 0, "tlp:white": 0, "tlp:green": 1, "tlp:amber": 2}
_TLP_TAGS.update({"tlp:amber+strict": 3, "tlp:red": 4})


def status() -> dict[str, Any]:
    return {"status": {}, "syncInProgress": False}


def export_case(session: Session, actor: Actor, case_ref: str, server: str) -> None:
    raise NotFound(f"MISP server {server} not found")


# --------------------------------------------------------------------------- import


def parse_event(raw: bytes) -> dict[str, Any]:
    """The MISP event of an export file: ``{"Event": {...}}``, a bare event, or the first
    event of a search response. Anything else is TheHive's "Could not convert" error."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(NOT_AN_EVENT) from exc
    if isinstance(document, dict) and isinstance(document.get("response"), list):
        document = document["response"][0] if document["response"] else None
    if isinstance(document, list) and document:
        document = document[0]
    if isinstance(document, dict) and isinstance(document.get("Event"), dict):
        document = document["Event"]
    if not isinstance(document, dict):
        raise BadRequest(NOT_AN_EVENT)
    info = document.get("info")
    if not isinstance(info, str) or not info.strip():
        raise BadRequest(NOT_AN_EVENT)
    return document


def import_event(session: Session, actor: Actor, raw: bytes, data: dict[str, Any]) -> Case:
    """Create a case from a MISP event: title from ``info``, tags and TLP from the event
    tags, severity from the threat level, one observable per usable attribute."""
    event = parse_event(raw)
    case = case_create.create_case(session, actor, _case_input(event, data))
    for observable, files in _observables(event):
        create_observables(session, actor, case=case, data=observable, files=files)
    return case


def _tag_names(holder: dict[str, Any]) -> list[str]:
    tags = holder.get("Tag") or []
    names = [t.get("name") for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []
    return [n.strip()[:128] for n in names if isinstance(n, str) and n.strip()]


def _case_input(event: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    tags = _tag_names(event)
    tlp = next((_TLP_TAGS[t.lower()] for t in tags if t.lower() in _TLP_TAGS), 2)
    case: dict[str, Any] = {
        "title": event["info"].strip()[:512],
        "description": _description(event),
        "severity": _THREAT_LEVEL_SEVERITY.get(str(event.get("threat_level_id")), 2),
        "tags": list(dict.fromkeys(tags)),
        "tlp": tlp,
    }
    start = _event_date(event)
    if start is not None:
        case["startDate"] = start
    allowed = (
        "caseTemplate",
        "assignee",
        "tasks",
        "pages",
        "customFields",
        "sharingParameters",
        "taskRule",
        "observableRule",
    )
    case.update({k: data[k] for k in allowed if data.get(k) is not None})
    return case


def _description(event: dict[str, Any]) -> str:
    lines = [f"Imported from MISP event {event.get('uuid') or event.get('id') or ''}".rstrip()]
    org = event.get("Orgc") or event.get("Org")
    if isinstance(org, dict) and org.get("name"):
        lines.append(f"Creator organisation: {org['name']}")
    if event.get("date"):
        lines.append(f"Event date: {event['date']}")
    return "\n\n".join(lines)


def _event_date(event: dict[str, Any]) -> int | None:
    value = event.get("date")
    if isinstance(value, str):
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return int(day.timestamp() * 1000)
        except ValueError:
            pass
    try:
        return int(event.get("timestamp")) * 1000
    except (TypeError, ValueError):
        return None


def _attributes(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's attributes and those of its objects."""
    found = [a for a in event.get("Attribute") or [] if isinstance(a, dict)]
    for obj in event.get("Object") or []:
        if isinstance(obj, dict):
            found.extend(a for a in obj.get("Attribute") or [] if isinstance(a, dict))
    return found


def _observables(event: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    out = []
    for attribute in _attributes(event):
        value = attribute.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        common = _common(attribute)
        for data_type, data, files in _convert(str(attribute.get("type") or ""), value, attribute):
            observable = {**common, "dataType": data_type}
            if data is not None:
                observable["data"] = data
            out.append((observable, files))
    return out


def _common(attribute: dict[str, Any]) -> dict[str, Any]:
    tags = _tag_names(attribute)
    category = attribute.get("category")
    if isinstance(category, str) and category:
        tags.append(f"misp:category={category}"[:128])
    tags.append(f"misp:type={attribute.get('type')}"[:128])
    common: dict[str, Any] = {
        "tags": list(dict.fromkeys(tags)),
        "ioc": bool(attribute.get("to_ids")),
    }
    if isinstance(attribute.get("comment"), str) and attribute["comment"].strip():
        common["message"] = attribute["comment"]
    return common


def _convert(misp_type: str, value: str, attribute: dict[str, Any]) -> list[tuple]:
    """(observable type, data or None for files, multipart files or None) of one attribute."""
    value = value.strip()
    if misp_type in ("attachment", "malware-sample"):
        files = _file_of(misp_type, value, attribute)
        if files is not None:
            return [("file", None, files)]
        misp_type = "filename|md5" if "|" in value else "filename"
    if misp_type in _PAIRS or (misp_type.startswith("filename|") and "|" in value):
        left_type, right_type = _PAIRS.get(misp_type, ("filename", "hash"))
        left, _, right = value.partition("|")
        pairs = [(left_type, left), (right_type, right)]
        return [(t, v.strip(), None) for t, v in pairs if t is not None and v.strip()]
    if misp_type in _HASHES:
        return [("hash", value, None)]
    return [(_TYPES.get(misp_type, "other"), value, None)]


def _file_of(misp_type: str, value: str, attribute: dict[str, Any]) -> dict | None:
    """The attached file (base64 ``data``); malware samples are unzipped with MISP's
    conventional password when possible."""
    encoded = attribute.get("data")
    if not isinstance(encoded, str) or not encoded:
        return None
    try:
        content = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return None
    name = value.split("|", 1)[0] or "misp-attachment"
    stream: IO[bytes] = io.BytesIO(content)
    size = len(content)
    if misp_type == "malware-sample":
        stream, size, name = _unzip_sample(content, name)
    upload = UploadFile(
        stream,
        size=size,
        filename=name,
        headers=Headers({"content-type": "application/octet-stream"}),
    )
    return {"attachment": [upload]}


def _unzip_sample(content: bytes, name: str) -> tuple[IO[bytes], int, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [m for m in archive.infolist() if not m.filename.endswith(".filename.txt")]
            if members:
                # Within the archive limits, streamed to a temporary file (not memory).
                limits = ZipLimits()
                check_members(members, limits, name)
                sample, size = spool_member(
                    archive, members[0], limits.max_member_bytes, MALWARE_ZIP_PASSWORD
                )
                return sample, size, name
    except (zipfile.BadZipFile, RuntimeError, KeyError):
        pass
    return io.BytesIO(content), len(content), f"{name}.zip"
