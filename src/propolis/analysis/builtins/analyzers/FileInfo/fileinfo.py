#!/usr/bin/env python3
"""Propolis_FileInfo: what a file is, without sending it anywhere.

Always: size, MD5/SHA-1/SHA-256/SHA-512 and the libmagic type. Then, by content: PE
metadata (pefile: machine, compile time, sections with entropy, imports, exports, imphash),
Office macros (oletools: olevba keywords, mraptor verdict) and PDF structure (pypdf: pages,
JavaScript, OpenAction, embedded files, links). A library that is not installed only costs
its section, named in ``errors``.

A Cortex program (cortexutils job-folder protocol): ``fileinfo.py <job folder>``.
"""

from __future__ import annotations

import hashlib
import zipfile
from datetime import UTC, datetime
from typing import Any

from cortexutils.analyzer import Analyzer

NAMESPACE = "FileInfo"
INSTALL_HINT = (
    "it is a dependency of Propolis: reinstall it with pip install --force-reinstall propolis"
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PACKED_ENTROPY = 7.2  # above this a section is almost certainly compressed or encrypted
MAX_IMPORTS_PER_DLL = 300
MAX_LISTED = 200
MAX_MACRO_SOURCE = 20_000

# libmagic missing: a few signatures still name the common types.
SIGNATURES = [
    (b"MZ", "application/x-dosexec", "PE/MS-DOS executable"),
    (b"\x7fELF", "application/x-executable", "ELF executable"),
    (b"%PDF-", "application/pdf", "PDF document"),
    (b"PK\x03\x04", "application/zip", "Zip archive"),
    (OLE_MAGIC, "application/x-ole-storage", "Composite Document File V2 (OLE)"),
    (b"\x89PNG", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
    (b"GIF8", "image/gif", "GIF image"),
    (b"\x1f\x8b", "application/gzip", "gzip compressed data"),
    (b"Rar!", "application/x-rar", "RAR archive"),
    (b"7z\xbc\xaf", "application/x-7z-compressed", "7-zip archive"),
]

# Short names for the taxonomy; anything else falls back to libmagic's first words.
MIME_LABELS = {
    "application/pdf": "PDF",
    "application/msword": "DOC",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.ms-powerpoint": "PPT",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
    "application/vnd.ms-word.document.macroenabled.12": "DOCM",
    "application/vnd.ms-excel.sheet.macroenabled.12": "XLSM",
    "application/x-ole-storage": "OLE",
    "application/cdfv2": "OLE",
    "application/zip": "ZIP",
    "application/java-archive": "JAR",
    "application/gzip": "GZIP",
    "application/x-rar": "RAR",
    "application/x-7z-compressed": "7Z",
    "application/x-executable": "ELF",
    "application/x-sharedlib": "ELF",
    "application/x-pie-executable": "ELF",
    "message/rfc822": "EML",
    "text/html": "HTML",
    "text/plain": "Text",
}


class FileInfo(Analyzer):
    def run(self) -> None:
        if self.data_type != "file":
            self.notSupported()
        path = self.get_param("file", None, "The job folder holds no file")
        if not path:
            self.error("The file named in input.json is not in the job folder")
        self.errors: list[str] = []
        report: dict[str, Any] = {"filename": self.get_param("filename", "")}
        report.update(file_hashes(path))
        with open(path, "rb") as handle:
            head = handle.read(8192)
        report.update(self.magic_type(path, head))
        for name, applies, analyse in (
            ("pe", head.startswith(b"MZ"), analyse_pe),
            ("office", is_office(path, head), analyse_office),
            ("pdf", b"%PDF-" in head[:1024], analyse_pdf),
        ):
            if applies:
                report[name] = self.section(name, analyse, path)
        report["type"] = type_label(report)
        report["errors"] = self.errors
        self.report(report)

    def magic_type(self, path: str, head: bytes) -> dict[str, str]:
        """MIME type and description, from puremagic (a pure-Python magic database: no
        system libmagic to install); where it has no specific answer, from the signatures of
        the formats this analyzer dissects, then a plain-text check."""
        try:
            matches = puremagic_matches(path)
        except ImportError as exc:
            self.errors.append(f"puremagic unavailable ({exc}); {INSTALL_HINT}")
            matches = []
        for match in matches:
            if match.mime_type and match.mime_type != "application/octet-stream":
                return {"mimetype": match.mime_type, "magic": match.name}
        for prefix, mime, label in SIGNATURES:
            if head.startswith(prefix):
                return {"mimetype": mime, "magic": label}
        if looks_like_text(head):
            return {"mimetype": "text/plain", "magic": "text"}
        return {"mimetype": "application/octet-stream", "magic": "data"}

    def section(self, name: str, analyse: Any, path: str) -> dict[str, Any]:
        """One optional analysis; its failure (or missing library) is reported, not fatal."""
        try:
            return analyse(path)
        except ImportError as exc:
            message = f"{name}: {exc.name or exc} is not installed; {INSTALL_HINT}"
        except Exception as exc:  # noqa: BLE001 - a malformed file must not fail the job
            message = f"{name}: cannot be parsed: {type(exc).__name__}: {exc}"
        self.errors.append(message)
        return {"error": message}

    def summary(self, raw: dict[str, Any]) -> dict[str, Any]:
        taxonomies = [self.build_taxonomy("info", NAMESPACE, "Type", raw["type"])]
        packed = [s["name"] for s in raw.get("pe", {}).get("sections", []) if s.get("packed")]
        if packed:
            taxonomies.append(
                self.build_taxonomy("suspicious", NAMESPACE, "Packed", ", ".join(packed))
            )
        office = raw.get("office", {})
        if "macros" in office:
            verdict = macro_verdict(office)
            level = "info" if verdict == "none" else "suspicious"
            taxonomies.append(self.build_taxonomy(level, NAMESPACE, "Macros", verdict))
        active = raw.get("pdf", {}).get("active_content") or []
        if active:
            taxonomies.append(
                self.build_taxonomy("suspicious", NAMESPACE, "PDF", ", ".join(active))
            )
        return {"taxonomies": taxonomies}

    def artifacts(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """The file's hashes and the PDF's links, when the worker asks for extraction (the
        generic extractor would also offer every DLL name of a PE as a domain)."""
        if not self.auto_extract:
            return []
        tags = ["FileInfo"]
        found = [self.build_artifact("hash", raw[h], tags=tags) for h in ("md5", "sha1", "sha256")]
        for uri in raw.get("pdf", {}).get("uris", []):
            if uri.startswith(("http://", "https://")):
                found.append(self.build_artifact("url", uri, tags=[*tags, "pdf:link"]))
        return found


# --------------------------------------------------------------------------- always


def file_hashes(path: str) -> dict[str, Any]:
    digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256", "sha512")}
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            for digest in digests.values():
                digest.update(chunk)
    return {"size": size, **{name: digest.hexdigest() for name, digest in digests.items()}}


def type_label(report: dict[str, Any]) -> str:
    pe = report.get("pe", {})
    if "format" in pe:
        return pe["format"]
    mime = report["mimetype"].lower()
    if mime in MIME_LABELS:
        label = MIME_LABELS[mime]
        if report.get("office", {}).get("macros") and label.endswith("X"):
            return label[:-1] + "M"  # libmagic names a .docm "Word 2007+" like a .docx
        return label
    if mime.startswith("image/"):
        return mime.split("/", 1)[1].upper()
    return report["magic"].split(",")[0][:40] or "data"


# --------------------------------------------------------------------------- PE


def analyse_pe(path: str) -> dict[str, Any]:
    import pefile

    pe = pefile.PE(path, fast_load=True)
    try:
        pe.parse_data_directories(
            directories=[
                pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
                pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"],
            ]
        )
        return pe_report(pe, pefile)
    finally:
        pe.close()


def pe_report(pe: Any, pefile: Any) -> dict[str, Any]:
    header, optional = pe.FILE_HEADER, pe.OPTIONAL_HEADER
    stamp = header.TimeDateStamp
    return {
        "format": "PE32+" if optional.Magic == 0x20B else "PE32",
        "machine": pefile.MACHINE_TYPE.get(header.Machine, hex(header.Machine)),
        "compile_timestamp": stamp,
        "compile_time": datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z"),
        "dll": pe.is_dll(),
        "subsystem": pefile.SUBSYSTEM_TYPE.get(optional.Subsystem, str(optional.Subsystem)),
        "entry_point": hex(optional.AddressOfEntryPoint),
        "image_base": hex(optional.ImageBase),
        "imphash": pe.get_imphash(),
        "sections": [pe_section(s) for s in pe.sections],
        "imports": pe_imports(pe),
        "exports": pe_exports(pe),
        "warnings": pe.get_warnings()[:20],
    }


def pe_section(section: Any) -> dict[str, Any]:
    entropy = round(section.get_entropy(), 3)
    return {
        "name": section.Name.rstrip(b"\0").decode("latin-1"),
        "virtual_address": hex(section.VirtualAddress),
        "virtual_size": section.Misc_VirtualSize,
        "raw_size": section.SizeOfRawData,
        "entropy": entropy,
        "md5": section.get_hash_md5(),
        "packed": section.SizeOfRawData > 0 and entropy > PACKED_ENTROPY,
    }


def pe_imports(pe: Any) -> list[dict[str, Any]]:
    imports = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])[:MAX_LISTED]:
        functions = [
            imp.name.decode("latin-1") if imp.name else f"ordinal {imp.ordinal}"
            for imp in entry.imports[:MAX_IMPORTS_PER_DLL]
        ]
        imports.append({"dll": entry.dll.decode("latin-1"), "functions": functions})
    return imports


def pe_exports(pe: Any) -> list[str]:
    directory = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if directory is None:
        return []
    return [
        symbol.name.decode("latin-1") if symbol.name else f"ordinal {symbol.ordinal}"
        for symbol in directory.symbols[:MAX_LISTED]
    ]


# --------------------------------------------------------------------------- Office


def looks_like_text(head: bytes) -> bool:
    """Plain text has no signature to match: UTF-8 without NUL bytes (as libmagic decides)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the sample
    return True


def puremagic_matches(path: str) -> list[Any]:
    """puremagic's guesses, best first; none when no signature matches (unknown binary data)."""
    import puremagic

    try:
        return puremagic.magic_file(path)
    except puremagic.PureError:
        return []


def is_office(path: str, head: bytes) -> bool:
    if head.startswith(OLE_MAGIC):
        return True
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def analyse_office(path: str) -> dict[str, Any]:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(path)
    try:
        report: dict[str, Any] = {"container": parser.type, "macros": False}
        if not parser.detect_vba_macros():
            return report
        modules = [
            {"stream": stream_path, "name": name, "code": code[:MAX_MACRO_SOURCE]}
            for _file, stream_path, name, code in parser.extract_macros()
        ]
        report.update(
            macros=True,
            modules=modules,
            keywords=vba_keywords(parser.analyze_macros()),
            mraptor=mraptor_verdict("\n".join(m["code"] for m in modules)),
        )
        return report
    finally:
        parser.close()


def vba_keywords(results: list[tuple[str, str, str]]) -> dict[str, list[dict[str, str]]]:
    """olevba's findings grouped by kind: AutoExec, Suspicious, IOC, Hex String..."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for kind, keyword, description in results:
        grouped.setdefault(kind, []).append({"keyword": keyword, "description": description})
    return grouped


def mraptor_verdict(code: str) -> dict[str, Any]:
    """MacroRaptor: suspicious when a macro runs by itself and writes or executes."""
    from oletools.mraptor import MacroRaptor

    raptor = MacroRaptor(code)
    raptor.scan()
    return {"suspicious": bool(raptor.suspicious), "flags": raptor.get_flags()}


def macro_verdict(office: dict[str, Any]) -> str:
    if not office.get("macros"):
        return "none"
    kinds = [k for k in ("AutoExec", "Suspicious", "IOC") if office.get("keywords", {}).get(k)]
    return ", ".join(kinds) if kinds else "present"


# --------------------------------------------------------------------------- PDF

# pdfid's keywords: counted in the raw bytes, so they are seen even where pypdf cannot parse.
PDF_KEYWORDS = [
    "/JS",
    "/JavaScript",
    "/AA",
    "/OpenAction",
    "/Launch",
    "/EmbeddedFile",
    "/XFA",
    "/RichMedia",
    "/AcroForm",
    "/URI",
    "/ObjStm",
    "/Encrypt",
]


def analyse_pdf(path: str) -> dict[str, Any]:
    from pypdf import PdfReader

    with open(path, "rb") as handle:
        raw = handle.read()
    keywords = {k: raw.count(k.encode()) for k in PDF_KEYWORDS if k.encode() in raw}
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")  # most "encrypted" PDFs use an empty user password
    root = reader.trailer["/Root"]
    report = {
        "version": reader.pdf_header.removeprefix("%PDF-"),
        "pages": len(reader.pages),
        "encrypted": reader.is_encrypted,
        "metadata": {k.lstrip("/"): str(v) for k, v in (reader.metadata or {}).items()},
        "javascript": pdf_has_javascript(root, keywords),
        "open_action": pdf_open_action(root),
        "embedded_files": pdf_embedded_files(reader),
        "uris": pdf_uris(reader),
        "keywords": keywords,
    }
    report["active_content"] = pdf_active_content(report, keywords)
    return report


def pdf_has_javascript(root: Any, keywords: dict[str, int]) -> bool:
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    return "/JavaScript" in names or bool(keywords.get("/JS") or keywords.get("/JavaScript"))


def pdf_open_action(root: Any) -> str | None:
    """What happens when the document opens: an action type (/JavaScript, /Launch...)."""
    action = root.get("/OpenAction")
    if action is None:
        return None
    action = action.get_object()
    if isinstance(action, dict):
        return str(action.get("/S", "action"))
    return "go to a page"  # a destination array: harmless


def pdf_embedded_files(reader: Any) -> list[dict[str, Any]]:
    files = []
    for name, contents in list(reader.attachments.items())[:MAX_LISTED]:
        for content in contents:
            files.append(
                {"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            )
    return files


def pdf_uris(reader: Any) -> list[str]:
    uris: list[str] = []
    for page in reader.pages:
        annotations = page.get("/Annots")
        for annotation in annotations.get_object() if annotations is not None else []:
            action = annotation.get_object().get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is not None and str(uri) not in uris:
                uris.append(str(uri))
            if len(uris) >= MAX_LISTED:
                return uris
    return uris


def pdf_active_content(report: dict[str, Any], keywords: dict[str, int]) -> list[str]:
    found = []
    if report["javascript"]:
        found.append("JavaScript")
    if report["open_action"] not in (None, "go to a page"):
        found.append("OpenAction")
    if keywords.get("/Launch"):
        found.append("Launch")
    if report["embedded_files"] or keywords.get("/EmbeddedFile"):
        found.append("EmbeddedFiles")
    if keywords.get("/RichMedia") or keywords.get("/XFA"):
        found.append("RichMedia/XFA")
    return found


if __name__ == "__main__":
    FileInfo().run()
