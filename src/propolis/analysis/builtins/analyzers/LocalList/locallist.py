"""Built-in local list analyzer: is this observable on the organisation's block list or
allow list? IPs match single addresses or CIDR ranges; other values match exactly (case
insensitive), with ``*`` wildcards, and ``.example.org`` matches a domain and its subdomains.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from propolis.analysis.neuron import Job, run, taxonomy


def matches(entry: str, value: str, data_type: str) -> bool:
    entry, value = entry.strip().lower(), value.strip().lower()
    if not entry:
        return False
    if data_type == "ip":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            pass
    if entry.startswith("."):
        host = urlsplit(value).hostname if data_type == "url" else value
        return bool(host) and (host == entry[1:] or host.endswith(entry))
    if "*" in entry or "?" in entry:
        return fnmatch.fnmatchcase(value, entry)
    return value == entry


def first_match(entries: Any, value: str, data_type: str) -> str | None:
    for entry in entries or []:
        if isinstance(entry, str) and matches(entry, value, data_type):
            return entry
    return None


def main(job: Job) -> None:
    value = job.data
    if not isinstance(value, str):
        job.error("This analyzer works on values, not files")
    allowed = first_match(job.param("allowlist", []), value, job.data_type)
    blocked = first_match(job.param("blocklist", []), value, job.data_type)
    if allowed:
        verdict, level, entry = "allowed", "safe", allowed
    elif blocked:
        verdict, level, entry = "blocked", "malicious", blocked
    else:
        verdict, level, entry = "unlisted", "info", None
    job.report(
        {"value": value, "verdict": verdict, "matchedEntry": entry},
        taxonomies=[taxonomy(level, "LocalList", "Verdict", verdict)],
    )


if __name__ == "__main__":
    run(main)
