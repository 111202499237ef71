#!/usr/bin/env python3
"""Propolis_Webhook: POST the object as JSON to a URL, the bridge to automation platforms
(StackStorm, Shuffle, n8n, Tines...).

The body is, by default (``payload`` = ``envelope``), TheHive's webhook shape that those
platforms' TheHive triggers already read: ``{"objectType": "case", "objectId": "~12",
"object": {...}, "parameters": {"organisation": ..., "user": ...}}``; with ``payload`` =
``object`` it is the object alone. ``authorization_token`` is sent as a bearer token,
``headers`` (``Name: value`` lines) as they are. A 2xx answer is success; anything else
(including a redirect, which would silently turn the POST into a GET) fails the job with the
status and the start of the answer. A JSON answer carrying ``operations`` (cortex.md §3.4)
hands them back to Propolis, so a workflow can tag the case, add a task log, etc.

A Cortex program (cortexutils job-folder protocol): ``webhook.py <job folder>``.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

from cortexutils.responder import Responder

PAYLOADS = ("envelope", "object")
MAX_ANSWER = 64 * 1024
TAG_OPERATION = {
    "thehive:case": "AddTagToCase",
    "thehive:case_task": "AddTagToCase",
    "thehive:case_task_log": "AddTagToCase",
    "thehive:alert": "AddTagToAlert",
    "thehive:case_artifact": "AddTagToArtifact",
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError


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
        request = urllib.request.Request(url, data=self.body(), method="POST")
        for name, value in self.headers().items():
            request.add_header(name, value)
        status, answer = self.post(request)
        self.report({"message": f"posted to {url}", "status": status, "response": answer})

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

    def post(self, request: urllib.request.Request) -> tuple[int, Any]:
        timeout = float(self.get_param("config.timeout", 30))
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.tls_context()), _NoRedirect()
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, parse_answer(response.read(MAX_ANSWER))
        except urllib.error.HTTPError as exc:
            detail = exc.read(1024).decode("utf-8", "replace").strip()
            self.error(f"The webhook answered HTTP {exc.code} {exc.reason}: {detail}".strip(": "))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            self.error(f"The webhook {request.full_url} could not be reached: {reason}")

    def tls_context(self) -> ssl.SSLContext:
        if self.get_param("config.verify_tls", True) is False:
            return ssl._create_unverified_context()  # noqa: S323 - the admin turned checks off
        return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))

    def operations(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        operations = []
        tag = self.get_param("config.tag")
        if tag and self.data_type in TAG_OPERATION:
            operations.append(self.build_operation(TAG_OPERATION[self.data_type], tag=tag))
        answer = raw.get("response")
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


def parse_answer(content: bytes) -> Any:
    text = content.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


if __name__ == "__main__":
    Webhook().run()
