"""Real services on loopback for the responders: an SMTP server (aiosmtpd) and an HTTP
server (http.server), both recording what they receive."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)  # RCPT TO of each mail
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _start_smtp(inbox: Inbox, **options: Any) -> Any:
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """An SMTP server without authentication."""
    inbox = Inbox(free_port())
    controller = _start_smtp(inbox)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_auth() -> Iterator[Inbox]:
    """An SMTP server that wants AUTH (user ``soc``, password ``right-password``)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    inbox = Inbox(free_port())

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"soc" and auth_data.password == b"right-password"
        )
        if ok:
            inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    controller = _start_smtp(
        inbox, authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    yield inbox
    controller.stop()


@dataclass
class Hook:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"ok": true}'
    location: str | None = None


@pytest.fixture
def hook() -> Iterator[Hook]:
    """An HTTP server recording POSTs; what it answers is set on the returned object."""
    state = Hook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
            )
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def do_GET(self) -> None:  # noqa: N802 - a redirected POST would arrive here
            state.requests.append({"path": self.path, "method": "GET"})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield state
    server.shutdown()
    server.server_close()
