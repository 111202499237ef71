#!/usr/bin/env python3
"""Propolis_Mailer: mail a case, task, alert or observable over SMTP.

Recipients: the configured ``recipients``, plus the addresses of the object's ``mail:``/
``mail=`` tags (and of its case's tags for a task or an observable), plus, for a task, a
``mailto:`` first line of its description (as Cortex-Analyzers' Mailer). The mail is plain
text: the title, the main fields, the description and the observables when the object
carries them (a case does, under ``observables``; an alert, under ``artifacts``).

SMTP: ``smtp_security`` = ``auto`` (STARTTLS when the server offers it), ``starttls``
(required), ``ssl`` (implicit TLS, port 465) or ``none``; login only when both
``smtp_user`` and ``smtp_password`` are set. Certificates are checked against the system
store, or the worker's ``cacerts``.

Afterwards the object is tagged (``tag``, default ``mail sent``; empty: no tag): the case of
a case or task, the alert, the observable.

A Cortex program (cortexutils job-folder protocol): ``mailer.py <job folder>``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

from cortexutils.responder import Responder

SECURITY = ("auto", "starttls", "ssl", "none")
SEVERITY = {1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}
TAG_OPERATION = {
    "thehive:case": "AddTagToCase",
    "thehive:case_task": "AddTagToCase",
    "thehive:alert": "AddTagToAlert",
    "thehive:case_artifact": "AddTagToArtifact",
}
MAX_OBSERVABLES = 500


class Mailer(Responder):
    def __init__(self) -> None:
        # cortexutils masks config keys naming a key, password or secret in error reports.
        super().__init__(secret_phrases=("key", "password", "secret", "pwd"))

    def run(self) -> None:
        if self.data_type not in TAG_OPERATION:
            self.error(
                f"Invalid dataType {self.data_type}: this responder mails cases, "
                "tasks, alerts and observables"
            )
        data = self.get_data()
        if not isinstance(data, dict):
            self.error("The object to mail is missing")
        sender = self.get_param("config.from", None, "Missing sender email address")
        recipients = self.recipients(data)
        subject, body = compose(self.data_type, data)
        message = EmailMessage()
        message["Subject"] = subject
        name, address = parseaddr(sender)
        message["From"] = formataddr((name, checked_address(self, address or sender)))
        message["To"] = ", ".join(recipients)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=address.rsplit("@", 1)[-1])
        message.set_content(body)
        self.send(message)
        self.report({"message": "message sent", "to": recipients, "subject": subject})

    def recipients(self, data: dict[str, Any]) -> list[str]:
        found = as_list(self.get_param("config.recipients", []))
        found += tag_addresses(data.get("tags"))
        parent = data.get("case") if isinstance(data.get("case"), dict) else {}
        found += tag_addresses(parent.get("tags"))
        if self.data_type == "thehive:case_task":
            found += mailto_line(data.get("description"))
        unique = list(dict.fromkeys(checked_address(self, a) for a in found if a.strip()))
        if not unique:
            self.error(
                "recipient address not found: tag the object mail:<address> or set "
                "'recipients' in the configuration"
            )
        return unique

    def send(self, message: EmailMessage) -> None:
        host = self.get_param("config.smtp_host", "localhost")
        port = int(self.get_param("config.smtp_port", 25))
        security = str(self.get_param("config.smtp_security", "auto")).lower()
        if security not in SECURITY:
            self.error(f"smtp_security must be one of {', '.join(SECURITY)}")
        timeout = float(self.get_param("config.timeout", 30))
        context = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))
        try:
            if security == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if security == "starttls" or (security == "auto" and smtp.has_extn("starttls")):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                user = self.get_param("config.smtp_user", "")
                password = self.get_param("config.smtp_password", "")
                if user and password:
                    smtp.login(user, password)
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.error(f"SMTP server {host}:{port}: {describe(exc)}")
        if refused:
            self.error(f"SMTP server refused {', '.join(sorted(refused))}")

    def operations(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        tag = self.get_param("config.tag", "mail sent")
        if not tag:
            return []
        return [self.build_operation(TAG_OPERATION[self.data_type], tag=tag)]


# --------------------------------------------------------------------------- addresses


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


def tag_addresses(tags: Any) -> list[str]:
    return [t[5:].strip() for t in as_list(tags) if t.lower().startswith(("mail:", "mail="))]


def mailto_line(description: Any) -> list[str]:
    first = str(description or "").strip().split("\n", 1)[0]
    for marker in ("mailto:", "mailto="):
        if marker in first:
            return first.split(marker, 1)[1].split()[:1]
    return []


def checked_address(responder: Responder, address: str) -> str:
    """A single plain address: no display-name tricks, no header injection."""
    address = address.strip()
    _name, parsed = parseaddr(address)
    if not parsed or parsed != address or "@" not in parsed or any(c.isspace() for c in parsed):
        responder.error(f"Invalid mail address {address!r}")
    return parsed


def describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- the mail


def compose(data_type: str, data: dict[str, Any]) -> tuple[str, str]:
    if data_type == "thehive:case":
        return case_mail(data)
    if data_type == "thehive:case_task":
        return task_mail(data)
    if data_type == "thehive:alert":
        return alert_mail(data)
    return observable_mail(data)


def number_of(case: dict[str, Any]) -> Any:
    return case.get("number", case.get("caseId"))


def case_mail(case: dict[str, Any]) -> tuple[str, str]:
    subject = f"[Case #{number_of(case)}] {case.get('title', '')}"
    lines = [f"Case #{number_of(case)}: {case.get('title', '')}", ""]
    lines += fields(case, ("Severity", "TLP", "PAP", "Status", "Assignee", "Tags"))
    lines += ["", str(case.get("description") or "")]
    lines += observable_lines(case.get("observables") or case.get("artifacts"))
    return subject, "\n".join(lines)


def task_mail(task: dict[str, Any]) -> tuple[str, str]:
    case = task.get("case") if isinstance(task.get("case"), dict) else {}
    subject = f"[Case #{number_of(case)}] Task: {task.get('title', '')}"
    description = str(task.get("description") or "")
    if mailto_line(description):  # the recipient line is not part of the message
        description = description.strip().split("\n", 1)[1] if "\n" in description else ""
    lines = [f"Task: {task.get('title', '')}", f"Case #{number_of(case)}: {case.get('title', '')}"]
    lines += fields(task, ("Group", "Status", "Assignee"))
    lines += ["", description]
    return subject, "\n".join(lines)


def alert_mail(alert: dict[str, Any]) -> tuple[str, str]:
    source = f"{alert.get('source', '')}:{alert.get('sourceRef', '')}"
    subject = f"[Alert {source}] {alert.get('title', '')}"
    lines = [f"Alert {source}: {alert.get('title', '')}", ""]
    lines += fields(alert, ("Type", "Severity", "TLP", "PAP", "Status", "Tags"))
    lines += ["", str(alert.get("description") or "")]
    lines += observable_lines(alert.get("artifacts") or alert.get("observables"))
    return subject, "\n".join(lines)


def observable_mail(observable: dict[str, Any]) -> tuple[str, str]:
    value = observable_value(observable)
    parent = observable.get("case") if isinstance(observable.get("case"), dict) else None
    where = f"Case #{number_of(parent)}" if parent else "Alert"
    subject = f"[{where}] Observable {observable.get('dataType', '')}: {value}"
    lines = [f"Observable [{observable.get('dataType', '')}] {value}"]
    if parent:
        lines.append(f"Case #{number_of(parent)}: {parent.get('title', '')}")
    lines += fields(observable, ("TLP", "PAP", "IOC", "Sighted", "Tags"))
    lines += ["", str(observable.get("message") or "")]
    return subject, "\n".join(lines)


def fields(data: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    values = {
        "Severity": data.get("severityLabel") or SEVERITY.get(data.get("severity"), ""),
        "TLP": data.get("tlpLabel") or data.get("tlp"),
        "PAP": data.get("papLabel") or data.get("pap"),
        "Status": data.get("status"),
        "Assignee": data.get("assignee") or data.get("owner"),
        "Tags": ", ".join(as_list(data.get("tags"))),
        "Group": data.get("group"),
        "Type": data.get("type"),
        "IOC": "yes" if data.get("ioc") else None,
        "Sighted": "yes" if data.get("sighted") else None,
    }
    return [f"{name}: {values[name]}" for name in names if values.get(name) not in (None, "")]


def observable_value(observable: dict[str, Any]) -> str:
    if observable.get("data") is not None:
        return str(observable["data"])
    attachment = observable.get("attachment") or {}
    return str(attachment.get("name", ""))


def observable_lines(observables: Any) -> list[str]:
    items = [o for o in observables or [] if isinstance(o, dict)][:MAX_OBSERVABLES]
    if not items:
        return []
    lines = ["", f"Observables ({len(items)}):"]
    for observable in items:
        flags = [
            f
            for f, on in (("IOC", observable.get("ioc")), ("sighted", observable.get("sighted")))
            if on
        ]
        tags = as_list(observable.get("tags"))
        extra = f" [{', '.join(flags)}]" if flags else ""
        extra += f" tags: {', '.join(tags)}" if tags else ""
        lines.append(f"  - {observable.get('dataType', '')}: {observable_value(observable)}{extra}")
    return lines


if __name__ == "__main__":
    Mailer().run()
