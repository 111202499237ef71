#!/usr/bin/env python3
"""Propolis_Webhook: POST the object as JSON to a URL, the bridge to automation platforms
(StackStorm, Shuffle, n8n, Tines...).

The body is, by default (``payload`` = ``envelope``), TheHive's webhook shape that those
platforms' TheHive triggers already read: ``{"objectType": "case", "objectId": "~12",
"object": {...}, "parameters": {"organisation": ..., "user": ...}}``; with ``payload`` =
``object`` it is the object alone. ``authorization_token`` is sent as a bearer token,
``headers`` (``Name: value`` lines) as they are. A 2xx answer is success; anything else
(including a redirect, which is not followed) fails the job with the status. The report says
only the status and the size of the answer, never its content: the URL is not trusted to be
an automation platform, and the answer is not for analysts to read. A JSON answer carrying
``operations`` (cortex.md §3.4) hands them back to Propolis, so a workflow can tag the case,
add a task log, etc.

The request goes through :mod:`propolis.analysis.outbound`: public addresses only unless the
platform admin allow-lists others, bounded waits, a capped answer.

A Cortex program (cortexutils job-folder protocol): ``webhook.py <job folder>``.
"""

from __future__ import annotations

import json
import os
import ssl
from typing import Any

from cortexutils.responder import Responder

from propolis.analysis import outbound

PAYLOADS = ("envelope", "object")
TAG_OPERATION = {
    "thehive:case": "AddTagToCase",
    "thehive:case_task": "AddTagToCase",
    "thehive:case_task_log": "AddTagToCase",
    "thehive:alert": "AddTagToAlert",
    "thehive:case_artifact": "AddTagToArtifact",
}


class Webhook(Responder):
    def __init__(self) -> None:
        # cortexutils masks config keys naming a secret in error reports (the engine masks
        # them again by the same rule as the API, so this only matters when run alone).
        super().__init__(
            secret_phrases=("key", "password", "secret", "token", "authorization", "header")
        )

    def run(self) -> None:
        url = self.get_param("config.url", None, "Missing webhook url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            self.error("The webhook url must start with http:// or https://")
        answer = self.post(url, self.body(), self.headers())
        self.answer = answer
        report = {"message": f"posted to {url}", "status": answer.status, "size": answer.size}
        if answer.truncated:
            report["truncated"] = True
        self.report(report)

    def body(self) -> bytes:
        payload = self.get_param("config.payload", "envelope")
        if payload not in PAYLOADS:
            self.error(f"payload must be one of {', '.join(PAYLOADS)}")
        data = self.get_data()
        if payload == "object":
            document = data
        else:
            document = {
                "objectType": self.data_type.removeprefix("thehive:"),
                "objectId": data.get("_id") if isinstance(data, dict) else None,
                "object": data,
                "parameters": self.get_param("parameters", {}),
            }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "Propolis-Webhook/1.0"}
        for line in as_list(self.get_param("config.headers", [])):
            name, sep, value = line.partition(":")
            if not sep or not name.strip() or any(c in line for c in "\r\n"):
                self.error(f"Invalid header {line!r}: expected 'Name: value'")
            headers[name.strip()] = value.strip()
        token = self.get_param("config.authorization_token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> outbound.Answer:
        policy = outbound.Policy.from_input(self._input)
        try:
            answer = outbound.post(
                url,
                body,
                headers,
                policy,
                timeout=float(self.get_param("config.timeout", policy.timeout)),
                tls=self.tls_context(),
            )
        except outbound.Refused as exc:
            self.error(f"The webhook {url} was not called: {exc}")
        except OSError as exc:
            self.error(f"The webhook {url} could not be reached: {exc}")
        if not 200 <= answer.status < 300:
            self.error(f"The webhook answered HTTP {answer.status} {answer.reason}".strip())
        return answer

    def tls_context(self) -> ssl.SSLContext:
        if self.get_param("config.verify_tls", True) is False:
            return ssl._create_unverified_context()  # noqa: S323 - the admin turned checks off
        return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))

    def operations(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        operations = []
        tag = self.get_param("config.tag")
        if tag and self.data_type in TAG_OPERATION:
            operations.append(self.build_operation(TAG_OPERATION[self.data_type], tag=tag))
        answer = workflow_answer(getattr(self, "answer", None))
        if isinstance(answer, dict) and isinstance(answer.get("operations"), list):
            operations += [
                op
                for op in answer["operations"]
                if isinstance(op, dict) and isinstance(op.get("type"), str)
            ]
        return operations


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


def workflow_answer(answer: outbound.Answer | None) -> Any:
    """A complete JSON answer, read for the operations it may carry (nothing else of it is
    kept)."""
    if answer is None or answer.truncated:
        return None
    try:
        return json.loads(answer.content.decode("utf-8", "replace"))
    except ValueError:
        return None


if __name__ == "__main__":
    Webhook().run()
