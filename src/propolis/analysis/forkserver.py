"""A fork server for Propolis' own built-in programs (the other half is ``builtins/launch.py``).

A new interpreter per job spends most of a small built-in's run starting up (``site``, then
importing cortexutils and the standard library modules it needs). The fork server is one
interpreter, started on first use, that has imported all that once; each job is a fork of it
running the program: milliseconds instead of about a hundred.

Requests go over a Unix ``SOCK_SEQPACKET`` socket (one message per request, with the write end
of the job's output pipe passed along); a lock serialises them, a fork taking a millisecond.
The answer is the child's pid: the caller reads the pipe to its end, and kills the child's
process group at the job's timeout, exactly as for a program it started itself.

Programs of the Cortex catalogue never go through here: they are started unchanged by their
own interpreter (cortex.md §2.5).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from propolis.analysis import environment

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).parent / "builtins" / "launch.py"


class Unavailable(OSError):
    """The fork server could not take the request (it did not start, or is gone): nothing was
    started, so the caller can start the program the ordinary way."""


def server_path() -> str:
    """This interpreter's import path (site-packages, editable installs...), for the
    launcher, which skips ``site``."""
    return os.pathsep.join(p for p in sys.path if p and os.path.isabs(p))


class ForkServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    def start(self) -> None:
        """Start it now (it preloads while the caller goes on) rather than at the first job."""
        with self._lock:
            try:
                self._ensure()
            except OSError:
                log.exception("the fork server for built-in programs did not start")

    def spawn(
        self, program: str, args: list[str], cwd: str, env: dict[str, str]
    ) -> tuple[int, int]:
        """Start ``program args`` in ``cwd`` with ``env``; returns the child's pid and the
        read end of its stdout+stderr pipe (the caller closes it)."""
        payload = json.dumps({"program": program, "args": args, "cwd": cwd, "env": env}).encode()
        read, write = os.pipe()
        try:
            with self._lock:
                return self._request(payload, write), read
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)

    def _request(self, payload: bytes, write: int) -> int:
        for attempt in (1, 2):  # a fork server found dead is replaced once
            control = self._ensure()
            try:
                socket.send_fds(control, [payload], [write])
            except OSError as exc:
                self._close()
                if attempt == 2:
                    raise Unavailable(f"fork server: {exc}") from exc
                continue
            # Once the request is sent the program may have started: no second try.
            try:
                reply = control.recv(512).decode(errors="replace")
            except OSError:
                self._close()  # a late answer must not be read as the next request's
                raise
            if not reply:
                self._close()
                raise OSError("the fork server stopped while starting the program")
            if reply.startswith("error "):
                raise OSError(f"the fork server could not start the program: {reply[6:]}")
            return int(reply)
        raise AssertionError("unreachable")

    def _ensure(self) -> socket.socket:
        if self._control is not None and self._process and self._process.poll() is None:
            return self._control
        self._close()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(  # noqa: S603 - argv list, no shell
                [sys.executable, "-S", str(LAUNCHER), "--serve", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                # Its children are copies of it: it holds none of the server's environment.
                env={**environment.base_environment(), "PROPOLIS_BUILTIN_PATH": server_path()},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None,  # its own failures go to the server's log
                start_new_session=True,  # a Ctrl-C on the server's terminal is not for it
            )
        except OSError as exc:
            mine.close()
            raise Unavailable(f"fork server: {exc}") from exc
        finally:
            theirs.close()
        mine.settimeout(30)  # a fork takes milliseconds; a wedged fork server fails the job
        self._control = mine
        return mine

    def _close(self) -> None:
        """Closing the socket makes the fork server exit (its running jobs go on)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def stop(self) -> None:
        with self._lock:
            self._close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


_default = ForkServer()


def default() -> ForkServer:
    """The fork server of this process."""
    return _default
