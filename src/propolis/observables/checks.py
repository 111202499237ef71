"""Light sanity checks of observable values by data type.

Deliberately lenient: they catch values that cannot be what the type says (an "ip" that is
not an address, a "hash" that is not a digest) so that similarity and analyzers are not fed
garbage, but accept every real-world form (IPv6, CIDR ranges, scheme-less URLs, IDNs...).
Types without a rule (``other``, ``filename``, custom types) accept any text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from propolis.core.errors import BadRequest

HASH_LENGTHS = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_LABEL = re.compile(r"^[\w*](?:[\w\-*]*[\w*])?$", re.UNICODE)
_WHITESPACE = re.compile(r"\s")


def _ip(value: str) -> str | None:
    try:
        if "/" in value:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        return "is not an IPv4 or IPv6 address (or CIDR range)"
    return None


def _domain(value: str) -> str | None:
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if not name or len(name) > 253 or any(len(label) > 63 for label in labels):
        return "is not a domain name"
    if not all(_LABEL.match(label) for label in labels):
        return "is not a domain name (letters, digits, '-' and '_' between dots)"
    return None


def _url(value: str) -> str | None:
    if _WHITESPACE.search(value):
        return "is not a URL (it contains whitespace)"
    return None


def _mail(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or _WHITESPACE.search(value):
        return "is not an e-mail address (name@domain)"
    return None


def _hash(value: str) -> str | None:
    if not _HEX.match(value) or len(value) not in HASH_LENGTHS:
        return "is not a hexadecimal MD5, SHA-1, SHA-256 or SHA-512 digest"
    return None


RULES: dict[str, Callable[[str], str | None]] = {
    "ip": _ip,
    "domain": _domain,
    "fqdn": _domain,
    "url": _url,
    "mail": _mail,
    "hash": _hash,
}


def check_value(data_type: str, value: str) -> None:
    """Raise a 400 naming the value and the rule when ``value`` cannot be a ``data_type``."""
    rule = RULES.get(data_type)
    problem = rule(value) if rule else None
    if problem:
        raise BadRequest(f"Invalid {data_type} observable: {value!r} {problem}")
