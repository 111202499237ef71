"""Built-in file analyzer: hashes, size, file type; PE and Office/PDF details when the
optional libraries (pefile, olefile) are installed."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any

from propolis.analysis.neuron import Job, run, taxonomy

# Magic numbers of common types, used when libmagic (python-magic) is not available.
SIGNATURES = [
    (b"MZ", "application/x-dosexec", "PE executable"),
    (b"\x7fELF", "application/x-executable", "ELF executable"),
    (b"%PDF-", "application/pdf", "PDF document"),
    (b"PK\x03\x04", "application/zip", "Zip archive (or Office Open XML)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", "OLE2 (legacy Office)"),
    (b"\x89PNG", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
    (b"GIF8", "image/gif", "GIF image"),
    (b"\x1f\x8b", "application/gzip", "gzip archive"),
    (b"Rar!", "application/x-rar", "RAR archive"),
    (b"7z\xbc\xaf", "application/x-7z-compressed", "7-Zip archive"),
]


def file_type(path: Path, head: bytes, name: str) -> tuple[str, str]:
    try:
        import magic

        return magic.from_file(str(path), mime=True), magic.from_file(str(path))
    except Exception:  # noqa: BLE001 - python-magic or libmagic missing: sniff ourselves
        pass
    for prefix, mime, label in SIGNATURES:
        if head.startswith(prefix):
            return mime, label
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed, guessed
    text = all(b == 9 or b == 10 or b == 13 or 32 <= b < 127 for b in head[:512])
    return ("text/plain", "text") if text else ("application/octet-stream", "data")


def hashes(path: Path) -> dict[str, Any]:
    digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256", "sha512")}
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            for digest in digests.values():
                digest.update(chunk)
    return {"size": size, **{name: d.hexdigest() for name, d in digests.items()}}


def pe_details(path: Path) -> dict[str, Any] | None:
    try:
        import pefile
    except ImportError:
        return None
    try:
        pe = pefile.PE(str(path), fast_load=True)
    except pefile.PEFormatError as exc:
        return {"error": str(exc)}
    return {
        "machine": hex(pe.FILE_HEADER.Machine),
        "timestamp": pe.FILE_HEADER.TimeDateStamp,
        "sections": [s.Name.rstrip(b"\0").decode("latin-1") for s in pe.sections],
        "imphash": pe.get_imphash() if hasattr(pe, "get_imphash") else None,
    }


def ole_details(path: Path) -> dict[str, Any] | None:
    try:
        import olefile
    except ImportError:
        return None
    if not olefile.isOleFile(str(path)):
        return None
    with olefile.OleFileIO(str(path)) as ole:
        meta = ole.get_metadata()
        return {
            "streams": ["/".join(s) for s in ole.listdir()],
            "author": (meta.author or b"").decode("utf-8", "replace"),
            "title": (meta.title or b"").decode("utf-8", "replace"),
            "macros": ole.exists("Macros") or ole.exists("_VBA_PROJECT_CUR"),
        }


def pdf_details(head: bytes, path: Path) -> dict[str, Any] | None:
    if not head.startswith(b"%PDF-"):
        return None
    content = path.read_bytes()
    keywords = [b"/JavaScript", b"/JS", b"/OpenAction", b"/Launch", b"/EmbeddedFile", b"/AA"]
    return {
        "version": head[5:8].decode("latin-1"),
        "pages": content.count(b"/Type /Page") + content.count(b"/Type/Page"),
        "keywords": {k.decode(): content.count(k) for k in keywords if k in content},
    }


def main(job: Job) -> None:
    if job.data_type != "file" or job.file is None:
        job.error("This analyzer only accepts files")
    path, name = job.file, job.filename or "file"
    head = path.open("rb").read(4096)
    mime, label = file_type(path, head, name)
    full: dict[str, Any] = {"filename": name, "mimetype": mime, "filetype": label, **hashes(path)}
    for key, details in (
        ("pe", pe_details(path) if head.startswith(b"MZ") else None),
        ("ole", ole_details(path)),
        ("pdf", pdf_details(head, path)),
    ):
        if details is not None:
            full[key] = details
    level = (
        "suspicious"
        if full.get("ole", {}).get("macros")
        or full.get("pdf", {}).get("keywords", {}).get("/JavaScript")
        else "info"
    )
    job.report(
        full,
        taxonomies=[
            taxonomy(level, "FileInfo", "Type", label[:60]),
            taxonomy("info", "FileInfo", "Size", full["size"]),
        ],
    )


if __name__ == "__main__":
    run(main)
