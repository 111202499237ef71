#!/usr/bin/env python3
"""Propolis_Yara: scan a file with the organisation's own YARA rules (yara-python).

``rules`` names rule files or folders (searched recursively for ``.yar``, ``.yara``,
``.rule``, ``.rules``). Every file is compiled on its own first so that one broken file is
reported (``rule_errors``) without hiding the others; the analyzer fails only when no rule
can be used. Rules may use the usual external variables (``filename``, ``filepath``,
``extension``, ``filetype``, ``owner``); they receive the observable's values.

Each matching rule becomes a taxonomy ``Yara:Match="<rule>"`` whose level comes from the
rule's ``level`` meta (info/safe/suspicious/malicious) or ``severity`` meta (low, medium,
high, critical), and is ``malicious`` otherwise, as in Cortex's Yara analyzer.

A Cortex program (cortexutils job-folder protocol): ``yara_scan.py <job folder>``.
"""

from __future__ import annotations

import os
from typing import Any

from cortexutils.analyzer import Analyzer

NAMESPACE = "Yara"
INSTALL_HINT = (
    "it is a dependency of Propolis: reinstall it with pip install --force-reinstall propolis"
)
RULE_EXTENSIONS = (".yar", ".yara", ".rule", ".rules")
LEVELS = ("info", "safe", "suspicious", "malicious")
SEVERITY_LEVELS = {
    "low": "info",
    "medium": "suspicious",
    "high": "malicious",
    "critical": "malicious",
}
DEFAULT_LEVEL = "malicious"
MAX_TAXONOMIES = 10  # past this, one summary taxonomy
MAX_STRING_HITS = 20  # per rule, in the report
MAX_SHOWN_BYTES = 64


class Yara(Analyzer):
    def run(self) -> None:
        if self.data_type != "file":
            self.notSupported()
        path = self.get_param("file", None, "The job folder holds no file")
        if not path:
            self.error("The file named in input.json is not in the job folder")
        try:
            import yara
        except ImportError:
            self.error(f"yara-python is not installed; {INSTALL_HINT}")
        self.yara = yara
        sources = as_list(self.get_param("config.rules", []))
        if not sources:
            self.error("No rules configured: set 'rules' to YARA rule files or folders")
        files = self.rule_files(sources)
        externals = self.externals()
        rules, compiled, errors = self.compile(files, externals)
        timeout = int(self.get_param("config.timeout", 60))
        try:
            matches = rules.match(path, externals=externals, timeout=timeout)
        except yara.TimeoutError:
            self.error(f"The YARA scan did not finish within {timeout} seconds")
        except yara.Error as exc:
            self.error(f"The YARA scan failed: {exc}")
        self.report(
            {
                "rule_files": compiled,
                "rule_errors": errors,
                "matches": [describe(match) for match in matches],
            }
        )

    def rule_files(self, sources: list[str]) -> list[str]:
        files: list[str] = []
        for source in sources:
            if os.path.isfile(source):
                files.append(source)
            elif os.path.isdir(source):
                files += folder_rules(source)
            else:
                self.error(f"YARA rules path not found: {source}")
        if not files:
            self.error(
                f"No YARA rules found in {', '.join(sources)} "
                f"(files ending in {', '.join(RULE_EXTENSIONS)})"
            )
        return files

    def compile(
        self, files: list[str], externals: dict[str, str]
    ) -> tuple[Any, list[str], list[dict[str, str]]]:
        usable, errors = {}, []
        for number, file in enumerate(files):
            try:
                self.yara.compile(filepath=file, externals=externals)
            except self.yara.Error as exc:
                errors.append({"file": file, "error": str(exc)})
                continue
            usable[f"r{number}_{os.path.splitext(os.path.basename(file))[0]}"] = file
        if not usable:
            detail = "; ".join(f"{e['file']}: {e['error']}" for e in errors)
            self.error(f"No YARA rule file compiles: {detail}")
        rules = self.yara.compile(filepaths=usable, externals=externals)
        return rules, list(usable.values()), errors

    def externals(self) -> dict[str, str]:
        filename = str(self.get_param("filename", "") or "")
        return {
            "filename": filename,
            "filepath": filename,
            "extension": os.path.splitext(filename)[1].lower(),
            "filetype": str(self.get_param("contentType", "") or ""),
            "owner": "",
        }

    def summary(self, raw: dict[str, Any]) -> dict[str, Any]:
        matches = raw["matches"]
        if not matches:
            return {"taxonomies": [self.build_taxonomy("info", NAMESPACE, "Match", "none")]}
        if len(matches) > MAX_TAXONOMIES:
            level = max((m["level"] for m in matches), key=LEVELS.index)
            value = f"{len(matches)} rules"
            return {"taxonomies": [self.build_taxonomy(level, NAMESPACE, "Match", value)]}
        return {
            "taxonomies": [
                self.build_taxonomy(m["level"], NAMESPACE, "Match", m["rule"]) for m in matches
            ]
        }

    def artifacts(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        return []  # matched strings are bytes of the sample, not observables


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [v for v in value or [] if isinstance(v, str) and v.strip()]


def folder_rules(folder: str) -> list[str]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(RULE_EXTENSIONS) and not name.startswith("."):
                found.append(os.path.join(root, name))
    return found


def level_of(meta: dict[str, Any]) -> str:
    level = str(meta.get("level", "")).lower()
    if level in LEVELS:
        return level
    return SEVERITY_LEVELS.get(str(meta.get("severity", "")).lower(), DEFAULT_LEVEL)


def describe(match: Any) -> dict[str, Any]:
    hits = []
    for string in match.strings:
        for instance in string.instances[:MAX_STRING_HITS]:
            data = bytes(instance.matched_data[:MAX_SHOWN_BYTES])
            hits.append(
                {
                    "identifier": string.identifier,
                    "offset": instance.offset,
                    "length": instance.matched_length,
                    "data": printable(data),
                }
            )
            if len(hits) >= MAX_STRING_HITS:
                break
    return {
        "rule": match.rule,
        "namespace": match.namespace,
        "tags": list(match.tags),
        "meta": dict(match.meta),
        "level": level_of(match.meta),
        "strings": hits,
    }


def printable(data: bytes) -> str:
    """Text as text, anything else as hex."""
    if data and all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        return data.decode("ascii")
    return data.hex()


if __name__ == "__main__":
    Yara().run()
