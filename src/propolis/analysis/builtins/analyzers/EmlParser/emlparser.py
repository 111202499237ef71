#!/usr/bin/env python3
"""Propolis_EmlParser: an e-mail (.eml) taken apart, offline.

Headers, addresses, the authentication verdicts the receiving server wrote, the text and
HTML bodies, and the attachments (hashes, and the files themselves). The observables it
contains come back as artifacts (cortex.md §3.3) the analyst can import in one click: the
sender, reply-to and recipient addresses, the subject, public relay IPs of the Received
headers, and the URLs, domains, IPs, addresses and hashes of the bodies (found by
ioc-finder, which also refangs ``hxxp://evil[.]com``), plus every attachment as a file.

A Cortex program (cortexutils job-folder protocol): ``emlparser.py <job folder>``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import tempfile
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from cortexutils.analyzer import Analyzer

NAMESPACE = "EmlParser"
INSTALL_HINT = (
    "it is a dependency of Propolis: reinstall it with pip install --force-reinstall propolis"
)
MAX_BODY_CHARS = 100_000  # per body, in the report
MAX_SCANNED_CHARS = 1_000_000  # text given to the IOC finder
MAX_ATTACHMENTS = 100
MAX_ARTIFACTS = 1000
# Headers whose addresses become observables, and the tag they carry.
ADDRESS_HEADERS = {
    "from": "eml:from",
    "sender": "eml:sender",
    "reply-to": "eml:reply-to",
    "return-path": "eml:return-path",
    "to": "eml:to",
    "cc": "eml:cc",
}
# URLs with an explicit scheme are URLs whatever their host: ioc-finder drops hosts whose TLD
# it does not know (intranet names such as .local or .corp), which an analyst still wants.
SCHEME_URL = re.compile(r"""(?:https?|ftp)://[^\s<>"'`{}|\\^\[\]]+""", re.IGNORECASE)
RISKY_EXTENSIONS = {
    ".exe", ".scr", ".com", ".pif", ".bat", ".cmd", ".ps1", ".vbs", ".vbe", ".js", ".jse",
    ".wsf", ".hta", ".lnk", ".msi", ".dll", ".jar", ".iso", ".img", ".vhd", ".one",
    ".docm", ".xlsm", ".pptm", ".xlam", ".html", ".htm", ".svg",
}  # fmt: skip
AUTH_FAILURES = {"fail", "softfail", "permerror", "temperror"}


class EmlParser(Analyzer):
    def run(self) -> None:
        if self.data_type != "file":
            self.notSupported()
        path = self.get_param("file", None, "The job folder holds no file")
        if not path:
            self.error("The file named in input.json is not in the job folder")
        try:
            from ioc_finder import find_iocs
        except ImportError:
            self.error(f"ioc-finder is not installed; {INSTALL_HINT}")
        with open(path, "rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        if not any(message.get(h) for h in ("from", "to", "subject", "date", "received")):
            self.error("The file is not an e-mail message (no From, To, Subject, Date or Received)")
        self.found: dict[tuple[str, str], set[str]] = {}
        self.files: list[dict[str, Any]] = []
        report = self.parse(message, find_iocs)
        self.report(report)

    # ----------------------------------------------------------------------- parsing

    def parse(self, message: EmailMessage, find_iocs: Any) -> dict[str, Any]:
        headers = header_list(message)
        addresses = self.addresses(message)
        subject = header_text(message, "subject")
        if subject:
            self.add("mail-subject", subject, "eml:subject")
        received = [value for name, value in headers if name.lower() == "received"]
        self.relay_ips(received, find_iocs)
        bodies, attachments = self.walk(message)
        self.body_iocs(bodies, find_iocs)
        return {
            "subject": subject,
            "from": header_text(message, "from"),
            "to": header_text(message, "to"),
            "cc": header_text(message, "cc"),
            "reply_to": header_text(message, "reply-to"),
            "date": header_text(message, "date"),
            "message_id": header_text(message, "message-id"),
            "addresses": addresses,
            "received": received,
            "authentication": authentication(message),
            "headers": [{"name": n, "value": v} for n, v in headers],
            "bodies": [
                {"content_type": b["content_type"], "content": b["content"][:MAX_BODY_CHARS]}
                for b in bodies
            ],
            "attachments": attachments,
            "iocs": self.iocs_by_type(),
        }

    def addresses(self, message: EmailMessage) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for header, tag in ADDRESS_HEADERS.items():
            values = [str(v) for v in message.get_all(header, [])]
            for _name, address in getaddresses(values):
                address = address.strip("<> ").lower()
                if "@" in address:
                    found.setdefault(header, []).append(address)
                    self.add("mail", address, tag)
        return found

    def relay_ips(self, received: list[str], find_iocs: Any) -> None:
        """The public IPs of the relays: the first one outside the recipient's network is
        usually the sender's."""
        if not received:
            return
        iocs = find_iocs("\n".join(received), included_ioc_types=["ipv4s", "ipv6s"])
        for ip in [*iocs.get("ipv4s", []), *iocs.get("ipv6s", [])]:
            if is_public(ip):
                self.add("ip", ip, "eml:received")

    def walk(self, message: EmailMessage) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        bodies: list[dict[str, str]] = []
        attachments: list[dict[str, Any]] = []
        for part in message.walk():
            if part.is_multipart() and part.get_content_type() != "message/rfc822":
                continue  # a container; a forwarded mail is also an attachment (and walked)
            if is_attachment(part):
                if len(attachments) < MAX_ATTACHMENTS:
                    attachments.append(self.attachment(part, len(attachments)))
            elif part.get_content_type() in ("text/plain", "text/html"):
                bodies.append({"content_type": part.get_content_type(), "content": text_of(part)})
        return bodies, attachments

    def attachment(self, part: EmailMessage, number: int) -> dict[str, Any]:
        content = attachment_bytes(part)
        name = safe_filename(part.get_filename(), number)
        described = {
            "filename": name,
            "content_type": part.get_content_type(),
            "inline": part.get_content_disposition() == "inline",
            "size": len(content),
            "md5": hashlib.md5(content).hexdigest(),  # noqa: S324 - an identifier, not security
            "sha1": hashlib.sha1(content).hexdigest(),  # noqa: S324
            "sha256": hashlib.sha256(content).hexdigest(),
            "risky": is_risky(name),
        }
        self.files.append({"name": name, "content": content, "type": part.get_content_type()})
        self.add("hash", described["sha256"], "eml:attachment")
        return described

    def body_iocs(self, bodies: list[dict[str, str]], find_iocs: Any) -> None:
        texts = []
        for body in bodies:
            content = body["content"]
            if body["content_type"] == "text/html":
                content = html_text_and_links(content)
            texts.append(content)
        text = "\n".join(texts)[:MAX_SCANNED_CHARS]
        for url in SCHEME_URL.findall(text):
            self.add_url(url.rstrip(".,;:!?)'\""))
        iocs = find_iocs(text)
        for url in iocs.get("urls", []):
            self.add_url(url)
        for data_type, keys in (
            ("domain", ["domains"]),
            ("mail", ["email_addresses"]),
            ("hash", ["md5s", "sha1s", "sha256s", "sha512s"]),
        ):
            for key in keys:
                for value in iocs.get(key, []):
                    self.add(data_type, value.lower(), "eml:body")
        for ip in [*iocs.get("ipv4s", []), *iocs.get("ipv6s", [])]:
            if is_public(ip):
                self.add("ip", ip, "eml:body")

    def add_url(self, url: str) -> None:
        self.add("url", url, "eml:body")
        host = urlsplit(url).hostname
        if host and not is_ip(host):
            self.add("domain", host.lower().rstrip("."), "eml:body")

    def add(self, data_type: str, value: str, tag: str) -> None:
        value = value.strip()
        if value and (len(self.found) < MAX_ARTIFACTS or (data_type, value) in self.found):
            self.found.setdefault((data_type, value), set()).add(tag)

    def iocs_by_type(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for data_type, value in self.found:
            grouped.setdefault(data_type, []).append(value)
        return grouped

    # ----------------------------------------------------------------------- results

    def summary(self, raw: dict[str, Any]) -> dict[str, Any]:
        attachments = raw["attachments"]
        taxonomies = [
            self.build_taxonomy("info", NAMESPACE, "Attachments", str(len(attachments))),
            self.build_taxonomy("info", NAMESPACE, "Observables", str(len(self.found))),
        ]
        risky = [a["filename"] for a in attachments if a["risky"]]
        if risky:
            taxonomies.append(
                self.build_taxonomy("suspicious", NAMESPACE, "RiskyAttachment", ", ".join(risky))
            )
        failed = [f"{k}={v}" for k, v in raw["authentication"].items() if v in AUTH_FAILURES]
        if failed:
            taxonomies.append(
                self.build_taxonomy("suspicious", NAMESPACE, "Auth", " ".join(failed))
            )
        if reply_to_differs(raw["addresses"]):
            taxonomies.append(
                self.build_taxonomy(
                    "suspicious", NAMESPACE, "ReplyTo", raw["addresses"]["reply-to"][0]
                )
            )
        return {"taxonomies": taxonomies}

    def artifacts(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """Everything found, plus each attachment as a file artifact (copied into output/).
        With ``auto_import``, they are tagged for automatic import into the case."""
        extra_tags = ["autoImport:true"] if self.get_param("config.auto_import", False) else []
        tlp = min(max(int(self.tlp), 0), 3)  # what came out of the mail is as sensitive
        found = [
            self.build_artifact(data_type, value, tags=sorted(tags) + extra_tags, tlp=tlp)
            for (data_type, value), tags in self.found.items()
        ]
        with tempfile.TemporaryDirectory() as scratch:
            for number, file in enumerate(self.files):
                folder = os.path.join(scratch, str(number))
                os.mkdir(folder)
                path = os.path.join(folder, file["name"])
                with open(path, "wb") as handle:
                    handle.write(file["content"])
                found.append(
                    self.build_artifact(
                        "file",
                        path,
                        contentType=file["type"],
                        tags=["eml:attachment", *extra_tags],
                        tlp=tlp,
                    )
                )
        return found


# --------------------------------------------------------------------------- helpers


def header_list(message: EmailMessage) -> list[tuple[str, str]]:
    """Every header in order (Received comes many times), decoded when it can be."""
    out = []
    for name, raw in message.raw_items():
        try:
            value = str(message.policy.header_factory(name, raw))
        except Exception:  # noqa: BLE001 - a malformed header is shown raw
            value = str(raw)
        out.append((name, " ".join(value.split())))
    return out


def header_text(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - malformed: fall back to the raw value
        value = dict((k.lower(), v) for k, v in message.raw_items()).get(name)
    return " ".join(str(value).split()) if value is not None else ""


def authentication(message: EmailMessage) -> dict[str, str]:
    """``spf``/``dkim``/``dmarc`` verdicts of the receiving server's Authentication-Results."""
    verdicts: dict[str, str] = {}
    for value in message.get_all("authentication-results", []):
        for method, result in re.findall(r"\b(spf|dkim|dmarc|arc)=(\w+)", str(value), re.I):
            verdicts.setdefault(method.lower(), result.lower())
    return verdicts


def is_attachment(part: EmailMessage) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    if part.get_content_type() == "message/rfc822":
        return True
    return bool(part.get_filename()) and part.get_content_maintype() != "text"


def attachment_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        return inner.as_bytes() if hasattr(inner, "as_bytes") else b""
    return part.get_payload(decode=True) or b""


def text_of(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def safe_filename(name: str | None, number: int) -> str:
    """A bare file name: no directories, no control characters, never empty."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    return name[:200] or f"attachment-{number + 1}.bin"


def is_risky(name: str) -> bool:
    """Executable, script, macro or disk-image content, or a double extension."""
    lower = name.lower()
    extension = os.path.splitext(lower)[1]
    parts = lower.split(".")
    double = len(parts) > 2 and f".{parts[-1]}" in RISKY_EXTENSIONS
    return extension in RISKY_EXTENSIONS or double


def reply_to_differs(addresses: dict[str, list[str]]) -> bool:
    senders, replies = addresses.get("from", []), addresses.get("reply-to", [])
    if not senders or not replies:
        return False
    return replies[0].rsplit("@", 1)[-1] != senders[0].rsplit("@", 1)[-1]


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_public(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_global
    except ValueError:
        return False


class _HtmlText(HTMLParser):
    """Visible text plus link targets (href, src, action) of an HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.chunks.append(data)


def html_text_and_links(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - broken HTML: scan it raw
        return html
    return "\n".join(parser.chunks)


if __name__ == "__main__":
    EmlParser().run()
