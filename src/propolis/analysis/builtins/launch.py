"""Starts Propolis' own built-in programs quickly.

Starting a Python interpreter costs more than a small built-in analyzer's whole run: ``site``
reads every ``.pth`` file of site-packages (some import modules), then the program imports
cortexutils, ``re``, ``typing``... The built-ins need nothing from ``site`` but the server's
import path, which the engine passes in ``PROPOLIS_BUILTIN_PATH``; it is appended after the
standard library, in the server's order, so nothing shadows the standard library.

Two ways in (both ``python -S launch.py ...``, standard library only):

* ``launch.py <program> <job folder>`` runs one program;
* ``launch.py --serve <fd>`` is a fork server (``propolis.analysis.forkserver`` starts it):
  it imports what the built-ins use once, then for each request received on the Unix socket
  ``fd`` (a JSON message, plus the write end of the program's output pipe) forks a child
  that runs the program, and answers with the child's pid. The kernel reaps the children.

Either way the program runs as ``__main__`` with ``sys.argv = [program, folder]`` and its own
folder first on ``sys.path``; exceptions, ``sys.exit``, ``atexit`` and threads behave as in a
directly started interpreter. A forked child then leaves with ``os._exit``: tearing down every
preloaded module would cost twice as long as the fork and a small program's run together.

Only Propolis' own programs are started this way; programs of the Cortex catalogue are run
unchanged by their own interpreter (cortex.md §2.5).
"""

import atexit
import io
import json
import os
import signal
import socket
import sys

MAX_REQUEST = 1 << 20
# What the built-ins import, loaded once in the fork server so each job skips it.
PRELOAD = (
    "cortexutils.analyzer",
    "cortexutils.responder",
    "email.message",
    "email.parser",
    "email.policy",
    "email.utils",
    "fnmatch",
    "hashlib",
    "html.parser",
    "ipaddress",
    "smtplib",
    "ssl",
    "urllib.request",
    "zipfile",
)


def extend_path() -> None:
    extra = os.environ.pop("PROPOLIS_BUILTIN_PATH", "")
    sys.path.extend(p for p in extra.split(os.pathsep) if p and p not in sys.path)


def preload() -> None:
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001, S112 - the program will report it if it needs it
            continue


def serve(fd: int) -> dict | None:
    """The fork server's loop. Returns only in a forked child, with its request; returns
    ``None`` when the engine closes the socket (it stopped)."""
    control = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies: nobody waits for children
    while True:
        message, fds, _flags, _address = socket.recv_fds(control, MAX_REQUEST, 1)
        if not message:
            return None
        try:
            request = json.loads(message)
            pid = os.fork() if len(fds) == 1 else -1
        except (OSError, ValueError) as exc:
            pid, error = -1, str(exc)
        else:
            error = "the request needs one output descriptor"
        if pid == 0:
            control.close()
            become(request, fds[0])
            return request
        for descriptor in fds:
            os.close(descriptor)
        control.send(str(pid).encode() if pid > 0 else f"error {error}".encode())


def become(request: dict, output: int) -> None:
    """In the child: the process the engine would have started for this job."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # its own process group, so a timeout stops its children too
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(stdin)
    os.close(output)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])


def run_as_main(program: str, args: list[str]) -> None:
    program = os.path.abspath(program)
    sys.argv = [program, *args]
    sys.path[0] = os.path.dirname(program)
    with io.open_code(program) as handle:
        code = compile(handle.read(), program, "exec")
    # A fresh __main__ module (what runpy does, without importing pkgutil, a third of what
    # this launcher saves); the launcher's own functions keep their module.
    module = type(sys)("__main__")
    module.__file__ = program
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    exec(code, module.__dict__)  # noqa: S102 - a program of Propolis' own catalogue


def run_and_exit(program: str, args: list[str]) -> None:
    """In a forked child: what the interpreter would do at the end of the program, without
    finalizing every module."""
    try:
        run_as_main(program, args)
        code = 0
    except SystemExit as exc:
        code = exit_code(exc.code)
    except BaseException:  # noqa: BLE001 - printed like an uncaught exception
        sys.excepthook(*sys.exc_info())
        code = 1
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # noqa: SLF001 - wait for non-daemon threads, as at exit
    atexit._run_exitfuncs()  # noqa: SLF001
    sys.modules["__main__"].__dict__.clear()  # the program's objects go: its files close
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def exit_code(value: object) -> int:
    """``sys.exit(value)`` as the interpreter reads it."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def main() -> None:
    extend_path()
    if sys.argv[1] != "--serve":
        run_as_main(sys.argv[1], sys.argv[2:])
        return
    preload()
    request = serve(int(sys.argv[2]))
    if request is not None:
        run_and_exit(request["program"], request["args"])


if __name__ == "__main__":
    main()
