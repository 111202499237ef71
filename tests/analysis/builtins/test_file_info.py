"""Propolis_FileInfo on files made by the tests: a PE, Word documents with and without a
VBA macro, a PDF with JavaScript, plain text."""

from __future__ import annotations

import hashlib

from tests.analysis.builtins import jobs, samples

NAME = "Propolis_FileInfo"


def analyze(tmp_path, content: bytes, filename: str, **kwargs):
    return jobs.analyze(NAME, tmp_path, "file", file=content, filename=filename, **kwargs)


def test_hashes_size_and_type_of_any_file(tmp_path):
    content = b"just some notes\nnothing else\n"
    result = analyze(tmp_path, content, "notes.txt")
    full = result.full
    assert full["filename"] == "notes.txt"
    assert full["size"] == len(content)
    for algorithm in ("md5", "sha1", "sha256", "sha512"):
        assert full[algorithm] == hashlib.new(algorithm, content).hexdigest()
    assert full["mimetype"] == "text/plain"
    assert full["type"] == "Text"
    assert full["errors"] == []
    assert result.taxonomies()["Type"] == {
        "level": "info",
        "namespace": "FileInfo",
        "predicate": "Type",
        "value": "Text",
    }
    assert result.output["artifacts"] == []  # extraction is off, as in a fresh worker
    assert result.returncode == 0


def test_pe_metadata(tmp_path):
    result = analyze(tmp_path, samples.build_pe(), "dropper.exe")
    full = result.full
    assert full["type"] == "PE32"
    assert full["mimetype"] == "application/x-dosexec"
    pe = full["pe"]
    assert pe["machine"] == "IMAGE_FILE_MACHINE_I386"
    assert pe["compile_timestamp"] == samples.PE_TIMESTAMP
    assert pe["compile_time"] == "2023-11-14T22:13:20Z"
    assert pe["subsystem"] == "IMAGE_SUBSYSTEM_WINDOWS_CUI"
    assert pe["dll"] is False
    assert pe["imports"] == [{"dll": "KERNEL32.dll", "functions": ["ExitProcess", "WinExec"]}]
    assert len(pe["imphash"]) == 32
    sections = {s["name"]: s for s in pe["sections"]}
    assert list(sections) == [".text", ".idata", "UPX1"]
    assert sections["UPX1"]["packed"] and not sections[".text"]["packed"]
    taxonomies = result.taxonomies()
    assert taxonomies["Type"]["value"] == "PE32"
    assert taxonomies["Packed"] == {
        "level": "suspicious",
        "namespace": "FileInfo",
        "predicate": "Packed",
        "value": "UPX1",
    }


def test_a_file_that_only_looks_like_a_pe_is_not_fatal(tmp_path):
    result = analyze(tmp_path, b"MZ" + b"\0" * 100, "broken.exe")
    assert "error" in result.full["pe"]
    assert result.full["errors"][0].startswith("pe: cannot be parsed")
    assert result.full["sha256"] == hashlib.sha256(b"MZ" + b"\0" * 100).hexdigest()


def test_word_macro_with_autoexec_and_shell(tmp_path):
    result = analyze(tmp_path, samples.build_docm(), "invoice.docm")
    office = result.full["office"]
    assert office["container"] == "OpenXML"
    assert office["macros"] is True
    (module,) = office["modules"]
    assert module["stream"] == "VBA/Module1"
    assert 'Shell "cmd.exe /c calc.exe"' in module["code"]
    keywords = {kind: [k["keyword"] for k in found] for kind, found in office["keywords"].items()}
    assert keywords["AutoExec"] == ["AutoOpen"]
    assert "Shell" in keywords["Suspicious"]
    assert "cmd.exe" in keywords["IOC"]
    assert office["mraptor"] == {"suspicious": True, "flags": "A-X"}
    taxonomies = result.taxonomies()
    assert taxonomies["Type"]["value"] == "DOCM"
    assert taxonomies["Macros"]["level"] == "suspicious"
    assert taxonomies["Macros"]["value"] == "AutoExec, Suspicious, IOC"


def test_office_document_without_macros(tmp_path):
    result = analyze(tmp_path, samples.build_docx(), "letter.docx")
    assert result.full["office"] == {"container": "OpenXML", "macros": False}
    assert result.taxonomies()["Macros"] == {
        "level": "info",
        "namespace": "FileInfo",
        "predicate": "Macros",
        "value": "none",
    }
    assert result.taxonomies()["Type"]["value"] == "DOCX"


def test_pdf_with_javascript_open_action_and_embedded_file(tmp_path):
    result = analyze(tmp_path, samples.build_pdf(), "report.pdf")
    pdf = result.full["pdf"]
    assert pdf["pages"] == 2
    assert pdf["metadata"]["Author"] == "Sample Author"
    assert pdf["javascript"] is True
    assert pdf["open_action"] == "/JavaScript"
    assert pdf["embedded_files"] == [
        {
            "name": "payload.exe",
            "size": len(b"MZ fake payload"),
            "sha256": hashlib.sha256(b"MZ fake payload").hexdigest(),
        }
    ]
    assert pdf["uris"] == ["https://pdf-link.example/dl"]
    taxonomies = result.taxonomies()
    assert taxonomies["Type"]["value"] == "PDF"
    assert taxonomies["PDF"]["level"] == "suspicious"
    assert taxonomies["PDF"]["value"] == "JavaScript, OpenAction, EmbeddedFiles"


def test_plain_pdf_has_no_warning(tmp_path):
    result = analyze(tmp_path, samples.build_pdf(active=False), "plain.pdf")
    assert result.full["pdf"]["active_content"] == []
    assert set(result.taxonomies()) == {"Type"}


def test_hashes_and_links_are_offered_when_extraction_is_on(tmp_path):
    content = samples.build_pdf()
    result = analyze(tmp_path, content, "r.pdf", config={"auto_extract_artifacts": True})
    assert result.artifact_values() == {
        ("hash", hashlib.md5(content).hexdigest()),  # noqa: S324
        ("hash", hashlib.sha1(content).hexdigest()),  # noqa: S324
        ("hash", hashlib.sha256(content).hexdigest()),
        ("url", "https://pdf-link.example/dl"),
    }


def test_a_missing_library_is_named_and_the_rest_still_works(tmp_path):
    env = jobs.shadow_module(tmp_path / "shadow", "pefile")
    content = samples.build_pe()
    result = analyze(tmp_path, content, "x.exe", env=env)
    full = result.full
    assert full["sha256"] == hashlib.sha256(content).hexdigest()
    assert full["pe"]["error"].startswith("pe: pefile is not installed")
    assert "reinstall" in full["pe"]["error"]
    assert full["mimetype"] == "application/x-dosexec"


def test_types_beyond_the_dissected_formats_come_from_puremagic(tmp_path):
    # An e-mail is none of the formats FileInfo dissects: its type is puremagic's guess.
    result = analyze(tmp_path, samples.build_eml(), "mail.eml")
    assert result.full["mimetype"] == "message/rfc822"
    assert result.full["errors"] == []


def test_without_puremagic_the_type_is_only_guessed_and_said_so(tmp_path):
    env = jobs.shadow_module(tmp_path / "shadow", "puremagic")
    result = analyze(tmp_path, samples.build_eml(), "mail.eml", env=env)
    assert result.full["mimetype"] == "text/plain"  # the plain-text check, not rfc822
    assert result.full["errors"][0].startswith("puremagic unavailable")


def test_only_files_are_analysed(tmp_path):
    result = jobs.analyze(NAME, tmp_path, "ip", data="10.0.0.1")
    assert result.output["success"] is False
    assert result.output["errorMessage"] == "This datatype is not supported by this analyzer."
    assert result.returncode == 1
