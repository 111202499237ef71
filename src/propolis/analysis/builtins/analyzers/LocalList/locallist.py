#!/usr/bin/env python3
"""Propolis_LocalList: is this observable on the organisation's block list or allow list?

Entries come from the worker's configuration (``blocklist``, ``allowlist``) and from list
files (``blocklist_files``, ``allowlist_files``: one entry per line, ``#`` comments). An
entry is one of:

* an IP address or a CIDR range (``10.0.0.0/8``, ``2001:db8::/32``), for IPs and URL hosts;
* ``.example.org``: that domain and all its subdomains (also the host of a URL, the domain
  of a mail address);
* a pattern with ``*``/``?`` wildcards (``*.evil.com``, ``*.scr``, ``http://*/wp-login.php``);
* an exact value (case-insensitive);

optionally restricted to one data type with a prefix: ``hash:44d88612...``,
``filename:*.iso``. The most specific matching entry decides (an exact value beats a range
or a pattern, a narrower range beats a wider one, a longer pattern a shorter one); when a
block entry and an allow entry are equally specific, the block list wins.

A Cortex program (cortexutils job-folder protocol): ``locallist.py <job folder>``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from cortexutils.analyzer import Analyzer

NAMESPACE = "LocalList"
LISTS = ("blocklist", "allowlist")
VERDICT_LEVELS = {"blocked": "malicious", "allowed": "safe", "unlisted": "info"}
DOMAIN_TYPES = {"domain", "fqdn", "hostname"}
COMMENT = re.compile(r"(^|\s+)#.*$")


# NamedTuple rather than a dataclass: importing dataclasses (inspect) would cost about a
# quarter of this program's start-up.
class Entry(NamedTuple):
    pattern: str
    source: str  # "configuration" or the list file
    data_type: str | None  # a "type:" prefix restricts the entry to that data type


class Match(NamedTuple):
    entry: Entry
    score: tuple[int, int]  # (kind: 3 exact, 2 range/domain, 1 wildcard; then narrowness)


class LocalList(Analyzer):
    def run(self) -> None:
        if self.data_type == "file":
            self.notSupported()
        value = str(self.get_data()).strip()
        if self.data_type == "ip" and not is_ip(value):
            self.error(f"{value!r} is not an IP address")
        lists = {name: self.entries(name) for name in LISTS}
        if not any(lists.values()):
            self.error(
                "The lists are empty: fill blocklist/allowlist or name list files in the "
                "configuration"
            )
        matches = {name: self.matches(entries, value) for name, entries in lists.items()}
        verdict, decisive = decide(matches)
        self.report(
            {
                "value": value,
                "dataType": self.data_type,
                "verdict": verdict,
                "matchedEntry": decisive.entry.pattern if decisive else None,
                "matchedList": decisive_list(matches, decisive),
                "matches": {
                    name: [{"entry": m.entry.pattern, "source": m.entry.source} for m in found]
                    for name, found in matches.items()
                },
                "entries": {name: len(entries) for name, entries in lists.items()},
            }
        )

    def entries(self, name: str) -> list[Entry]:
        entries = [
            parse_entry(line, "configuration")
            for line in as_list(self.get_param(f"config.{name}", []))
        ]
        for path in as_list(self.get_param(f"config.{name}_files", [])):
            try:
                with open(path, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except OSError as exc:
                self.error(f"Cannot read the {name} file {path}: {exc.strerror or exc}")
            entries += [parse_entry(line, path) for line in lines]
        return [e for e in entries if e.pattern]

    def matches(self, entries: list[Entry], value: str) -> list[Match]:
        found = []
        for entry in entries:
            if entry.data_type not in (None, self.data_type):
                continue
            score = match_score(entry.pattern, value, self.data_type)
            if score is not None:
                found.append(Match(entry, score))
        return sorted(found, key=lambda m: m.score, reverse=True)

    def summary(self, raw: dict[str, Any]) -> dict[str, Any]:
        verdict = raw["verdict"]
        return {
            "taxonomies": [
                self.build_taxonomy(VERDICT_LEVELS[verdict], NAMESPACE, "Verdict", verdict)
            ]
        }

    def artifacts(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        return []  # nothing new was learnt about other observables


# --------------------------------------------------------------------------- lists


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


TYPE_PREFIXES = {
    "ip", "domain", "fqdn", "hostname", "url", "mail", "hash", "filename", "uri_path",
    "user-agent", "other", "registry", "mail-subject",
}  # fmt: skip


def parse_entry(line: str, source: str) -> Entry:
    text = COMMENT.sub("", line).strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() in TYPE_PREFIXES and rest.strip():
        return Entry(rest.strip().lower(), source, prefix.lower())
    return Entry(text.lower(), source, None)


def decide(matches: dict[str, list[Match]]) -> tuple[str, Match | None]:
    block = matches["blocklist"][0] if matches["blocklist"] else None
    allow = matches["allowlist"][0] if matches["allowlist"] else None
    if block and (allow is None or block.score >= allow.score):
        return "blocked", block
    if allow:
        return "allowed", allow
    return "unlisted", None


def decisive_list(matches: dict[str, list[Match]], decisive: Match | None) -> str | None:
    for name, found in matches.items():
        if decisive is not None and found and found[0] is decisive:
            return name
    return None


# --------------------------------------------------------------------------- matching


def match_score(pattern: str, value: str, data_type: str) -> tuple[int, int] | None:
    """How specifically ``pattern`` matches ``value`` (None: it does not)."""
    value = value.strip().lower()
    if data_type == "ip":
        return ip_score(pattern, value) or text_score(pattern, value)
    if data_type in DOMAIN_TYPES:
        return domain_score(pattern, value.rstrip("."))
    if data_type == "url":
        return best(text_score(pattern, value), host_score(pattern, urlsplit(value).hostname))
    if data_type == "mail":
        domain = value.rsplit("@", 1)[-1] if "@" in value else None
        return best(text_score(pattern, value), host_score(pattern, domain))
    return text_score(pattern, value)


def best(*scores: tuple[int, int] | None) -> tuple[int, int] | None:
    found = [s for s in scores if s is not None]
    return max(found) if found else None


def host_score(pattern: str, host: str | None) -> tuple[int, int] | None:
    if not host:
        return None
    host = host.rstrip(".")
    return ip_score(pattern, host) if is_ip(host) else domain_score(pattern, host)


def ip_score(pattern: str, value: str) -> tuple[int, int] | None:
    try:
        network = ipaddress.ip_network(pattern, strict=False)
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version != network.version or address not in network:
        return None
    if network.num_addresses == 1:
        return (3, 0)
    return (2, network.prefixlen)


def domain_score(pattern: str, value: str) -> tuple[int, int] | None:
    if pattern.startswith(".") and len(pattern) > 1:
        if value == pattern[1:] or value.endswith(pattern):
            return (2, pattern.count("."))
        return None
    return text_score(pattern.rstrip("."), value)


def text_score(pattern: str, value: str) -> tuple[int, int] | None:
    if pattern == value:
        return (3, 0)
    if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(value, pattern):
        return (1, len(pattern) - pattern.count("*") - pattern.count("?"))
    return None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    LocalList().run()
