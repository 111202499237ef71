"""Issue 7, finding 3: the request boundary. The caller is authenticated before a byte of the
body is read, a declared size over the limit is refused before reading, and a body is read
with a running limit (chunked included): the server never holds more than the limit."""

from __future__ import annotations

import base64
import socket
import threading

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.security.conftest import MIB, peak_rss

BIG = 200 * MIB
CHUNK = b"x" * MIB


def _send_all(sock: socket.socket, chunks) -> None:  # noqa: ANN001
    try:
        for chunk in chunks:
            sock.sendall(chunk)
    except OSError:
        pass  # the server answered and stopped reading: that is the point


def _post(port: int, path: str, headers: dict[str, str], chunks) -> tuple[int, bytes]:  # noqa: ANN001
    """Send a request whose body is streamed from another thread; return the status and
    the start of the answer as soon as the server answers (it need not read it all)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    sender = threading.Thread(target=_send_all, args=(sock, chunks), daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        sender.join(timeout=120)
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def _plain(total: int):  # noqa: ANN202
    for _ in range(total // len(CHUNK)):
        yield CHUNK


def _chunked(total: int):  # noqa: ANN202
    for _ in range(total // len(CHUNK)):
        yield b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
    yield b"0\r\n\r\n"


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()


def test_anonymous_large_post_is_refused_without_reading_it(guarded):
    before = peak_rss(guarded)
    status, _ = _post(
        guarded.port,
        "/api/v1/case",
        {"Content-Type": "application/json", "Content-Length": str(BIG)},
        _plain(BIG),
    )
    assert status in (401, 413)
    assert peak_rss(guarded) - before < 50 * MIB


def test_anonymous_chunked_post_is_refused_without_reading_it(guarded):
    before = peak_rss(guarded)
    status, _ = _post(
        guarded.port,
        "/api/v1/case",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        _chunked(BIG),
    )
    assert status == 401
    assert peak_rss(guarded) - before < 50 * MIB


def test_declared_size_over_the_limit_is_refused_before_reading(guarded):
    # Only the headers are sent: an answer proves nothing was waited for.
    status, answer = _post(
        guarded.port,
        "/api/v1/case",
        {
            "Content-Type": "application/json",
            "Content-Length": str(BIG),
            "Authorization": _basic(),
            "X-Organisation": "main-org",
        },
        iter(()),
    )
    assert status == 413, answer


def test_chunked_body_over_the_limit_gets_413_with_a_running_limit(guarded):
    before = peak_rss(guarded)
    status, answer = _post(
        guarded.port,
        "/api/v1/case",
        {
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            "Authorization": _basic(),
            "X-Organisation": "main-org",
        },
        _chunked(BIG),
    )
    assert status == 413, answer
    assert b'"type"' in answer or b"application/json" in answer
    assert peak_rss(guarded) - before < 50 * MIB


def test_chunked_multipart_over_the_upload_limit_gets_413(guarded):
    case = guarded.client(organisation="main-org").case.create(
        {"title": "upload limit", "description": "d"}
    )
    boundary = "propolisboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_json"\r\n\r\n'
        '{"dataType": "file"}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
        'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()

    def body():  # noqa: ANN202
        yield b"%x\r\n" % len(head) + head + b"\r\n"
        yield from _chunked(64 * MIB)

    status, answer = _post(
        guarded.port,
        f"/api/v1/case/{case['_id']}/observable",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Transfer-Encoding": "chunked",
            "Authorization": _basic(),
            "X-Organisation": "main-org",
        },
        body(),
    )
    assert status == 413, answer
    observables = guarded.client(organisation="main-org").case.find_observables(case["_id"])
    assert observables == []


def test_small_bodies_still_work(guarded):
    client = guarded.client(organisation="main-org")
    case = client.case.create({"title": "ok", "description": "x" * 1000})
    assert client.case.get(case["_id"])["description"] == "x" * 1000
