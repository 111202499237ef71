"""Built-in e-mail parser: headers, text bodies, the observables they contain (URLs,
domains, IPs, mail addresses) and the attachments, offered as artifacts."""

from __future__ import annotations

import email
import email.policy
import hashlib
import ipaddress
import re
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

from propolis.analysis.neuron import Job, run, taxonomy

URL = re.compile(r"""https?://[^\s<>"'()\]\[]+""", re.IGNORECASE)
MAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
RECEIVED_IP = re.compile(r"\[(\d{1,3}(?:\.\d{1,3}){3})\]")
MAX_ARTIFACTS = 500


def bodies(message: EmailMessage) -> tuple[list[dict[str, str]], list[EmailMessage]]:
    texts, attachments = [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            attachments.append(part)
        elif part.get_content_type() in ("text/plain", "text/html"):
            try:
                content = part.get_content()
            except (LookupError, ValueError):
                content = part.get_payload(decode=True).decode("utf-8", "replace")
            texts.append({"type": part.get_content_type(), "content": content})
    return texts, attachments


def public_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not (address.is_private or address.is_loopback or address.is_reserved)


def extract(message: EmailMessage, texts: list[dict[str, str]]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], set[str]] = {}

    def add(data_type: str, value: str, tag: str) -> None:
        found.setdefault((data_type, value.strip().rstrip(".,;")), set()).add(tag)

    for header in ("from", "to", "cc", "reply-to", "return-path", "sender"):
        for _name, address in getaddresses(message.get_all(header, [])):
            if address:
                add("mail", address.lower(), f"header:{header}")
    subject = message.get("subject")
    if subject:
        add("mail-subject", str(subject), "header:subject")
    for received in message.get_all("received", []):
        for ip in RECEIVED_IP.findall(str(received)):
            if public_ip(ip):
                add("ip", ip, "header:received")
    for text in texts:
        content = text["content"]
        for url in URL.findall(content):
            add("url", url, "body")
            host = urlsplit(url).hostname
            if host and not IPV4.fullmatch(host):
                add("domain", host.lower(), "body")
        for address in MAIL.findall(content):
            add("mail", address.lower(), "body")
        for ip in IPV4.findall(content):
            if public_ip(ip):
                add("ip", ip, "body")
    return [
        {"dataType": t, "data": v, "tags": sorted(tags)}
        for (t, v), tags in list(found.items())[:MAX_ARTIFACTS]
    ]


def main(job: Job) -> None:
    if job.data_type != "file" or job.file is None:
        job.error("This analyzer only accepts files (.eml)")
    message = email.message_from_bytes(job.file.read_bytes(), policy=email.policy.default)
    if not message.keys():
        job.error("The file is not an e-mail message")
    texts, parts = bodies(message)
    artifacts = extract(message, texts)
    attachments = []
    for part in parts:
        content = part.get_payload(decode=True) or b""
        name = part.get_filename() or "attachment"
        sha256 = hashlib.sha256(content).hexdigest()
        attachments.append(
            {
                "filename": name,
                "contentType": part.get_content_type(),
                "size": len(content),
                "sha256": sha256,
            }
        )
        artifacts.append(
            job.file_artifact(
                name, content, contentType=part.get_content_type(), tags=["eml:attachment"]
            )
        )
        artifacts.append({"dataType": "hash", "data": sha256, "tags": ["eml:attachment"]})
    headers = {key: str(value) for key, value in message.items()}
    job.report(
        {
            "subject": str(message.get("subject", "")),
            "from": str(message.get("from", "")),
            "to": str(message.get("to", "")),
            "date": str(message.get("date", "")),
            "headers": headers,
            "bodies": texts,
            "attachments": attachments,
            "iocs": [a for a in artifacts if a["dataType"] != "file"],
        },
        taxonomies=[
            taxonomy("info", "EmlParser", "Attachments", len(attachments)),
            taxonomy("info", "EmlParser", "Observables", len(artifacts)),
        ],
        artifacts=artifacts,
    )


if __name__ == "__main__":
    run(main)
