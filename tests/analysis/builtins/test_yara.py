"""Propolis_Yara with rules written by the test into a local folder."""

from __future__ import annotations

from tests.analysis.builtins import jobs, samples

NAME = "Propolis_Yara"
PACKER_RULE = """
rule UPX_Section : packer
{
    meta:
        description = "a section named like UPX's"
        level = "suspicious"
    strings:
        $name = "UPX1"
    condition:
        uint16(0) == 0x5A4D and $name
}
"""
DROPPER_RULE = """
rule Calls_WinExec
{
    meta:
        severity = "high"
    strings:
        $api = "WinExec" ascii
        $dll = "KERNEL32.dll" nocase
    condition:
        all of them
}

rule Named_Like_An_Invoice
{
    condition:
        filename matches /invoice/i and extension == ".exe"
}
"""


def rules_folder(tmp_path, **files: str):
    folder = tmp_path / "rules"
    (folder / "nested").mkdir(parents=True)
    for name, text in files.items():
        (folder / name.replace("__", "/")).write_text(text)
    return folder


def scan(tmp_path, content: bytes, rules, filename="sample.exe", **kwargs):
    config = {"rules": [str(r) for r in rules], **kwargs.pop("config", {})}
    return jobs.analyze(
        NAME, tmp_path, "file", file=content, filename=filename, config=config, **kwargs
    )


def test_matching_rules_become_taxonomies(tmp_path):
    folder = rules_folder(
        tmp_path, **{"packers.yar": PACKER_RULE, "nested__droppers.yara": DROPPER_RULE}
    )
    result = scan(tmp_path, samples.build_pe(), [folder], filename="Invoice-2231.exe")
    matches = {m["rule"]: m for m in result.full["matches"]}
    assert set(matches) == {"UPX_Section", "Calls_WinExec", "Named_Like_An_Invoice"}
    assert matches["UPX_Section"]["tags"] == ["packer"]
    assert matches["UPX_Section"]["meta"]["description"] == "a section named like UPX's"
    (hit,) = matches["UPX_Section"]["strings"]
    assert hit["identifier"] == "$name" and hit["data"] == "UPX1"
    assert samples.build_pe()[hit["offset"] : hit["offset"] + 4] == b"UPX1"
    levels = {t["value"]: t["level"] for t in result.output["summary"]["taxonomies"]}
    assert levels == {
        "UPX_Section": "suspicious",  # meta level
        "Calls_WinExec": "malicious",  # meta severity = high
        "Named_Like_An_Invoice": "malicious",  # no meta: Cortex's default
    }
    assert sorted(r.rsplit("/", 1)[1] for r in result.full["rule_files"]) == [
        "droppers.yara",
        "packers.yar",
    ]


def test_no_match(tmp_path):
    folder = rules_folder(tmp_path, **{"packers.yar": PACKER_RULE})
    result = scan(tmp_path, b"harmless text", [folder], filename="notes.txt")
    assert result.full["matches"] == []
    assert result.output["summary"]["taxonomies"] == [
        {"level": "info", "namespace": "Yara", "predicate": "Match", "value": "none"}
    ]


def test_a_broken_rule_file_is_reported_and_the_others_still_run(tmp_path):
    folder = rules_folder(
        tmp_path, **{"packers.yar": PACKER_RULE, "broken.yar": "rule Broken { condition: nope }"}
    )
    result = scan(tmp_path, samples.build_pe(), [folder])
    assert [m["rule"] for m in result.full["matches"]] == ["UPX_Section"]
    (error,) = result.full["rule_errors"]
    assert error["file"].endswith("broken.yar") and "nope" in error["error"]


def test_single_rule_file_and_other_files_ignored(tmp_path):
    folder = rules_folder(tmp_path, **{"packers.yar": PACKER_RULE, "README.md": "not rules"})
    result = scan(tmp_path, samples.build_pe(), [folder / "packers.yar"])
    assert [m["rule"] for m in result.full["matches"]] == ["UPX_Section"]


def test_an_empty_rules_folder_is_a_clear_error(tmp_path):
    folder = rules_folder(tmp_path, **{"README.md": "no rules yet"})
    result = scan(tmp_path, b"x", [folder])
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith(f"No YARA rules found in {folder}")


def test_missing_folder_and_unusable_rules_are_errors(tmp_path):
    missing = scan(tmp_path, b"x", [tmp_path / "nowhere"])
    assert missing.output["errorMessage"] == f"YARA rules path not found: {tmp_path / 'nowhere'}"
    folder = rules_folder(tmp_path, **{"broken.yar": "rule Broken {"})
    broken = scan(tmp_path, b"x", [folder])
    assert broken.output["errorMessage"].startswith("No YARA rule file compiles:")
    unset = jobs.analyze(NAME, tmp_path, "file", file=b"x", filename="x")
    assert unset.output["errorMessage"].startswith("No rules configured")


def test_missing_yara_python_is_a_clear_error(tmp_path):
    folder = rules_folder(tmp_path, **{"packers.yar": PACKER_RULE})
    env = jobs.shadow_module(tmp_path / "shadow", "yara")
    result = scan(tmp_path, b"x", [folder], env=env)
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("yara-python is not installed")
