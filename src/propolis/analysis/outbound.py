"""The one HTTP client of Propolis' analyzers and responders for outbound requests.

A responder that posts to a URL an analyst can influence is a way into the server's own
network (SSRF): the platform's loopback services, cloud metadata (169.254.169.254), the
private ranges behind it. So every address a host name resolves to must be a public one,
unless the platform admin allow-lists it (``PROPOLIS_OUTBOUND_ALLOW``: networks such as
``10.1.2.0/24`` or exact host names); the connection then goes to the address that was
checked (no second resolution), redirects are not followed, every wait is bounded and at
most ``max_bytes`` of the answer is read.

The engine hands the admin's policy to the program in its input document
(``propolis.outbound``); this module is standard library only, so a built-in that imports it
stays quick to start.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 64 * 1024
SETTING = "PROPOLIS_OUTBOUND_ALLOW"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The request was not sent: the URL or the address it resolves to is not allowed."""


@dataclass
class Policy:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def parse(
        cls, allow: Any, timeout: Any = None, max_bytes: Any = None
    ) -> Policy:  # the admin's setting: a comma-separated string or a list
        entries = allow.split(",") if isinstance(allow, str) else list(allow or [])
        policy = cls(
            timeout=float(timeout) if timeout else DEFAULT_TIMEOUT,
            max_bytes=int(max_bytes) if max_bytes else DEFAULT_MAX_BYTES,
        )
        for entry in (str(e).strip() for e in entries):
            if not entry:
                continue
            try:
                policy.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                policy.hosts.add(entry.lower().rstrip("."))
        return policy

    @classmethod
    def from_input(cls, document: dict[str, Any]) -> Policy:
        """The policy the engine put in a job's input (none: public addresses only)."""
        given = ((document.get("propolis") or {}).get("outbound")) or {}
        return cls.parse(given.get("allow"), given.get("timeout"), given.get("maxBytes"))

    def to_input(self) -> dict[str, Any]:
        return {
            "allow": [str(n) for n in self.networks] + sorted(self.hosts),
            "timeout": self.timeout,
            "maxBytes": self.max_bytes,
        }

    def allows(self, host: str, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if host.lower().rstrip(".") in self.hosts:
            return True
        if any(address in network for network in self.networks):
            return True
        # loopback, private, link-local, CGNAT, multicast, reserved... are all not global
        return address.is_global and not address.is_multicast


@dataclass
class Answer:
    status: int
    reason: str
    size: int  # bytes read (at most max_bytes)
    truncated: bool  # the answer was longer than max_bytes
    content: bytes


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: Policy,
    *,
    timeout: float | None = None,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """POST ``body`` to ``url`` under ``policy``; raises :class:`Refused` before sending
    anything to an address that is not allowed, ``OSError`` when the server cannot be
    reached or does not answer in time."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("The url must start with http:// or https:// and name a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    wait = min(timeout or policy.timeout, policy.timeout)
    address = resolve(parts.hostname, port, policy)
    connection = _connection(parts.scheme, parts.hostname, port, address, wait, tls)
    try:
        path = parts.path or "/"
        connection.request("POST", path + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = connection.getresponse()
        content = response.read(policy.max_bytes + 1)
        truncated = len(content) > policy.max_bytes
        content = content[: policy.max_bytes]
        return Answer(response.status, response.reason, len(content), truncated, content)
    finally:
        connection.close()


def resolve(host: str, port: int, policy: Policy) -> str:
    """The address to connect to: every address of ``host`` must be allowed (a name that
    also resolves to a private address is refused), the first one is used."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"{host} cannot be resolved: {exc.strerror}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    refused = [a for a in addresses if not policy.allows(host, a)]
    if refused:
        raise Refused(
            f"{host} resolves to {refused[0]}, an address outbound requests may not reach "
            f"(the platform admin can allow it with {SETTING})"
        )
    return str(addresses[0])


def _connection(
    scheme: str, host: str, port: int, address: str, timeout: float, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to ``host`` (its name in Host and TLS SNI/certificate checks)
    that connects to the checked ``address`` only."""
    if scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPS(
            host, port, timeout=timeout, context=tls or ssl.create_default_context()
        )
    else:
        connection = _PinnedHTTP(host, port, timeout=timeout)
    connection.pinned_address = address  # type: ignore[attr-defined]
    return connection


class _PinnedHTTP(http.client.HTTPConnection):
    pinned_address: str

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    pinned_address: str

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)
