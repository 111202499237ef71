"""Built-in mailer responder: mails a case, alert or task to the addresses of its
``mail=``/``mail:`` tags and to the configured recipients, with the case's observables."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from propolis.analysis.neuron import Job, run


def recipients(job: Job, data: dict[str, Any]) -> list[str]:
    found = [t[5:] for t in data.get("tags") or [] if t.startswith(("mail=", "mail:"))]
    found += [r for r in job.param("recipients", []) if isinstance(r, str)]
    return list(dict.fromkeys(r.strip() for r in found if r.strip()))


def subject_and_body(job: Job, data: dict[str, Any]) -> tuple[str, str]:
    kind = job.data_type
    lines = [data.get("description") or ""]
    if kind == "thehive:case":
        subject = f"[Case #{data.get('number', data.get('caseId'))}] {data.get('title')}"
    elif kind == "thehive:case_task":
        case = data.get("case") or {}
        subject = f"[Case #{case.get('number', case.get('caseId'))}] {data.get('title')}"
    else:
        subject = f"[Alert {data.get('source')}:{data.get('sourceRef')}] {data.get('title')}"
    observables = data.get("observables") or data.get("artifacts") or []
    if observables:
        lines += ["", "Observables:"]
        for o in observables:
            value = o.get("data") or (o.get("attachment") or {}).get("name", "")
            lines.append(f"  - [{o.get('dataType')}] {value}")
    return subject, "\n".join(lines)


def main(job: Job) -> None:
    data = job.data if isinstance(job.data, dict) else {}
    sender = job.param("from")
    if not sender:
        job.error("Missing sender email address")
    to = recipients(job, data)
    if not to:
        job.error("recipient address not found in tags (mail=...) nor in the configuration")
    subject, body = subject_and_body(job, data)
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, ", ".join(to)
    message["Date"], message["Message-ID"] = formatdate(localtime=True), make_msgid()
    message.set_content(body)
    host, port = job.param("smtp_host", "localhost"), int(job.param("smtp_port", 25))
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        if job.param("starttls", False):
            smtp.starttls()
        user, password = job.param("smtp_user"), job.param("smtp_password")
        if user and password:
            smtp.login(user, password)
        smtp.send_message(message)
    job.report(
        {"message": "message sent", "to": to, "subject": subject},
        operations=[{"type": "AddTagToCase", "tag": "mail sent"}]
        if job.data_type != "thehive:alert"
        else [{"type": "AddTagToAlert", "tag": "mail sent"}],
    )


if __name__ == "__main__":
    run(main)
