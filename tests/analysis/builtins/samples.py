"""Sample files the built-in tests analyse, made here byte by byte (nothing downloaded):
a minimal PE32, a Word document with a VBA macro, a PDF with JavaScript, an e-mail."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from email.message import EmailMessage

# --------------------------------------------------------------------------- PE32

PE_TIMESTAMP = 1_700_000_000  # 2023-11-14T22:13:20Z
IMAGE_BASE = 0x400000


def build_pe(packed: bool = True) -> bytes:
    """A valid 32-bit console PE: .text calling KERNEL32!ExitProcess, an import table, and
    (``packed``) a section of random bytes as a packer would leave."""
    sections = [(".text", 0x1000, _pe_code()), (".idata", 0x2000, _pe_imports(0x2000))]
    if packed:
        sections.append(("UPX1", 0x3000, os.urandom(0x1000)))
    headers_size, file_align = 0x200, 0x200
    raw, offset = [], headers_size
    table = b""
    for name, rva, data in sections:
        size = -(-len(data) // file_align) * file_align
        table += struct.pack(
            "<8sIIIIIIHHI",
            name.encode(),
            len(data),  # VirtualSize
            rva,
            size,  # SizeOfRawData
            offset,  # PointerToRawData
            0,
            0,
            0,
            0,
            0x60000020 if name == ".text" else 0xC0000040,
        )
        raw.append(data.ljust(size, b"\0"))
        offset += size
    image_size = sections[-1][1] + 0x1000
    data_dirs = [(0, 0)] * 16
    data_dirs[1] = (0x2000, 40)  # the import directory
    optional = struct.pack(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
        0x10B,  # PE32
        14,
        0,
        0x200,  # SizeOfCode
        0x400,  # SizeOfInitializedData
        0,
        0x1000,  # AddressOfEntryPoint
        0x1000,  # BaseOfCode
        0x2000,  # BaseOfData
        IMAGE_BASE,
        0x1000,  # SectionAlignment
        file_align,
        6,
        0,
        0,
        0,
        6,
        0,
        0,
        image_size,
        headers_size,
        0,  # CheckSum
        3,  # Subsystem: Windows console
        0,
        0x100000,
        0x1000,
        0x100000,
        0x1000,
        0,
        16,
    ) + b"".join(struct.pack("<II", rva, size) for rva, size in data_dirs)
    coff = struct.pack("<HHIIIHH", 0x14C, len(sections), PE_TIMESTAMP, 0, 0, len(optional), 0x102)
    dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
    headers = (dos + b"PE\0\0" + coff + optional + table).ljust(headers_size, b"\0")
    return headers + b"".join(raw)


def _pe_code() -> bytes:
    iat_exit_process = IMAGE_BASE + 0x2050
    return b"\x6a\x00" + b"\xff\x15" + struct.pack("<I", iat_exit_process) + b"\xc3"


def _pe_imports(base: int) -> bytes:
    """Import directory at +0, lookup table at +0x40, address table at +0x50, names after."""
    names = [b"ExitProcess", b"WinExec"]
    hint_names, hint_rvas, at = b"", [], 0x60
    for name in names:
        entry = struct.pack("<H", 0) + name + b"\0"
        entry += b"\0" * (len(entry) % 2)
        hint_rvas.append(base + at + len(hint_names))
        hint_names += entry
    dll_rva = base + at + len(hint_names)
    descriptor = struct.pack("<IIIII", base + 0x40, 0, 0, dll_rva, base + 0x50)
    thunks = b"".join(struct.pack("<I", rva) for rva in hint_rvas) + b"\0\0\0\0"
    out = bytearray(0x60)
    out[0:20] = descriptor  # followed by an all-zero descriptor that ends the table
    out[0x40 : 0x40 + len(thunks)] = thunks
    out[0x50 : 0x50 + len(thunks)] = thunks
    return bytes(out) + hint_names + b"KERNEL32.dll\0"


# --------------------------------------------------------------------------- VBA / Office

MACRO = (
    'Attribute VB_Name = "Module1"\r\n'
    "Sub AutoOpen()\r\n"
    '    Shell "cmd.exe /c calc.exe", vbHide\r\n'
    "End Sub\r\n"
)


def build_docm(macro: str = MACRO) -> bytes:
    """A Word 2007+ macro document: the OOXML parts plus word/vbaProject.bin, an OLE file
    holding a VBA project (MS-OVBA) with one module."""
    project = build_vba_project(macro)
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.'
        'document.macroEnabled.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Please enable content</w:t></w:r></w:p></w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("word/document.xml", document)
        archive.writestr("word/vbaProject.bin", project)
    return buffer.getvalue()


def build_docx() -> bytes:
    """The same document without macros."""
    source = io.BytesIO(build_docm())
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(buffer, "w") as new:
        for name in old.namelist():
            if name != "word/vbaProject.bin":
                new.writestr(name, old.read(name))
    return buffer.getvalue()


def build_vba_project(macro: str) -> bytes:
    module = "Module1"
    project_stream = (
        f'ID="{{00000000-0000-0000-0000-000000000000}}"\r\nModule={module}\r\n'
        'Name="Project"\r\nHelpContextID="0"\r\nVersionCompatible32="393222000"\r\n'
    ).encode("latin-1")
    return write_cfb(
        {
            ("PROJECT",): project_stream,
            ("VBA", "dir"): ovba_compress(_dir_stream(module)),
            ("VBA", module): ovba_compress(macro.encode("latin-1")),
            ("VBA", "_VBA_PROJECT"): b"\xcc\x61\xff\xff\x00\x00\x00",
        }
    )


def _record(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _dir_stream(module: str) -> bytes:
    """The VBA project's "dir" stream (MS-OVBA 2.3.4.2), one procedural module."""
    name, wide = module.encode("latin-1"), module.encode("utf-16-le")
    out = (
        _record(0x01, struct.pack("<I", 1))  # SYSKIND: 32-bit Windows
        + _record(0x02, struct.pack("<I", 0x409))  # LCID
        + _record(0x14, struct.pack("<I", 0x409))  # LCIDINVOKE
        + _record(0x03, struct.pack("<H", 1252))  # CODEPAGE
        + _record(0x04, b"Project")
        + _record(0x05, b"")
        + _record(0x40, b"")  # DOCSTRING (+ unicode)
        + _record(0x06, b"")
        + _record(0x3D, b"")  # HELPFILEPATH (twice)
        + _record(0x07, struct.pack("<I", 0))  # HELPCONTEXT
        + _record(0x08, struct.pack("<I", 0))  # LIBFLAGS
        + struct.pack("<HIIH", 0x09, 4, 1, 0)  # VERSION
        + _record(0x0C, b"")
        + _record(0x3C, b"")  # CONSTANTS (+ unicode)
        + _record(0x0F, struct.pack("<H", 1))  # MODULES: one
        + _record(0x13, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
        + _record(0x19, name)
        + _record(0x47, wide)  # MODULENAME (+ unicode)
        + _record(0x1A, name)
        + _record(0x32, wide)  # MODULESTREAMNAME (+ unicode)
        + _record(0x1C, b"")
        + _record(0x48, b"")  # MODULEDOCSTRING (+ unicode)
        + _record(0x31, struct.pack("<I", 0))  # MODULEOFFSET: source at the stream start
        + _record(0x1E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        + _record(0x2C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        + struct.pack("<HI", 0x21, 0)  # MODULETYPE: procedural
        + struct.pack("<HI", 0x2B, 0)  # module terminator
        + struct.pack("<HI", 0x10, 0)  # dir terminator
    )
    return out


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression using literal tokens only (valid, just not smaller)."""
    out = bytearray(b"\x01")
    per_chunk = 455 * 8  # 455 groups of (flag byte + 8 literals) fit in 4096 bytes
    for start in range(0, len(data), per_chunk):
        piece, body = data[start : start + per_chunk], bytearray()
        for group in range(0, len(piece), 8):
            body += b"\x00" + piece[group : group + 8]
        out += struct.pack("<H", 0xB000 | (len(body) - 1)) + body  # compressed, signature 011
    return bytes(out)


def write_cfb(streams: dict[tuple[str, ...], bytes]) -> bytes:
    """A minimal Compound File Binary (OLE2, version 3) holding ``streams`` (< 4 KiB each,
    so all live in the mini stream)."""
    free, end, fat_mark, none = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    # Directory: root, then storages and streams; children chained through right siblings.
    entries = [{"name": "Root Entry", "type": 5, "children": []}]
    index: dict[tuple[str, ...], int] = {(): 0}
    for path in sorted(streams):
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            if key not in index:
                kind = 2 if depth == len(path) else 1
                index[key] = len(entries)
                entries.append({"name": key[-1], "type": kind, "children": []})
                entries[index[key[:-1]]]["children"].append(index[key])
    mini = bytearray()
    minifat: list[int] = []
    for path, data in streams.items():
        entry = entries[index[path]]
        entry["start"], entry["size"] = len(minifat), len(data)
        count = max(1, -(-len(data) // 64))
        minifat += [len(minifat) + i + 1 for i in range(count - 1)] + [end]
        mini += data.ljust(count * 64, b"\0")
    dir_sectors = -(-len(entries) // 4)
    minifat_sectors = -(-len(minifat) // 128)
    mini_sectors = -(-len(mini) // 512)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + minifat_sectors + mini_sectors:
        fat_sectors += 1
    fat: list[int] = [fat_mark] * fat_sectors
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(dir_sectors - 1)] + [end]
    first_minifat = len(fat)
    fat += [first_minifat + i + 1 for i in range(minifat_sectors - 1)] + [end]
    first_mini = len(fat)
    fat += [first_mini + i + 1 for i in range(mini_sectors - 1)] + [end]
    entries[0]["start"], entries[0]["size"] = first_mini, len(mini)

    def sorted_children(children: list[int]) -> list[int]:
        return sorted(children, key=lambda i: (len(entries[i]["name"]), entries[i]["name"].upper()))

    directory = bytearray()
    for number, entry in enumerate(entries):
        siblings = [c for e in entries for c in [sorted_children(e["children"])]]
        right = none
        for chain in siblings:
            if number in chain and chain.index(number) + 1 < len(chain):
                right = chain[chain.index(number) + 1]
        kids = sorted_children(entry["children"])
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            name,
            len(name),
            entry["type"],
            1,  # black
            none,
            right,
            kids[0] if kids else none,
            b"\0" * 16,
            0,
            0,
            0,
            entry.get("start", end if entry["type"] != 2 else 0),
            entry.get("size", 0),
        )
    unused = struct.pack(
        "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, none, none, none, b"\0" * 16, 0, 0, 0, 0, 0
    )
    directory += unused * (dir_sectors * 4 - len(entries))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("d0cf11e0a1b11ae1"),
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        fat_sectors,
        first_dir,
        0,
        4096,
        first_minifat,
        minifat_sectors,
        end,
        0,
    )
    difat = list(range(fat_sectors)) + [free] * (109 - fat_sectors)
    header += struct.pack("<109I", *difat)
    body = struct.pack(f"<{fat_sectors * 128}I", *(fat + [free] * (fat_sectors * 128 - len(fat))))
    body += bytes(directory)
    body += struct.pack(
        f"<{minifat_sectors * 128}I", *(minifat + [free] * (minifat_sectors * 128 - len(minifat)))
    )
    body += bytes(mini).ljust(mini_sectors * 512, b"\0")
    return header + body


# --------------------------------------------------------------------------- PDF


def build_pdf(active: bool = True) -> bytes:
    """A two-page PDF; ``active`` adds JavaScript run at opening, an embedded file and a
    link annotation."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    writer.add_metadata({"/Author": "Sample Author", "/Title": "Quarterly report"})
    if active:
        writer.add_attachment("payload.exe", b"MZ fake payload")
        writer.add_annotation(0, Link(rect=(50, 50, 200, 80), url="https://pdf-link.example/dl"))
        script = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("app.alert('opened');"),
                }
            )
        )
        root = writer._root_object
        root[NameObject("/OpenAction")] = script
        names = root[NameObject("/Names")].get_object()  # made by add_attachment
        names[NameObject("/JavaScript")] = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("opening"), script])}
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- e-mail


def build_eml() -> bytes:
    message = EmailMessage()
    message["From"] = "Billing <billing@phish.example>"
    message["To"] = "Victim <victim@corp.example>, other@corp.example"
    message["Reply-To"] = "payments@reply.example"
    message["Subject"] = "Overdue invoice 4471"
    message["Date"] = "Tue, 14 Nov 2023 10:00:00 +0000"
    message["Message-ID"] = "<4471@phish.example>"
    message["Received"] = "from mx.phish.example ([185.220.101.4]) by mx.corp.example (10.0.0.5)"
    message["Authentication-Results"] = "mx.corp.example; spf=fail; dkim=none; dmarc=fail"
    message.set_content(
        "Dear customer,\n\nplease pay at https://pay.phish.example/login?id=4471 today.\n"
        "Questions: help@phish-support.com, or our backup site hxxp://malware-drop[.]net/stage2\n"
        "hosted on 45.77.12.34 (reference 44d88612fea8a8f36de82e1278abb02f).\n"
    )
    message.add_alternative(
        '<html><body><p>Please pay <a href="https://pay.phish.example/login?id=4471">here'
        '</a> or <a href="http://second.example/x">there</a>.</p></body></html>',
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    message.add_attachment(
        build_pe(packed=False),
        maintype="application",
        subtype="octet-stream",
        filename="invoice.pdf.exe",
    )
    return bytes(message)
