#!/usr/bin/env python3
"""A test program written WITHOUT cortexutils that ignores every limit it is given.

It follows only the bare job-folder protocol (read ``<job>/input/input.json``, write
``<job>/output/output.json``) and never refuses anything: not on TLP or PAP, not on time,
not on size. Whatever limit holds when it runs is the engine's doing. It serves as an
analyzer and, through ``responders/RogueResponder``, as a responder.

``config.service`` selects the misbehaviour; ``config.markers`` names a folder where every
run leaves a file (so a test can tell whether the program ran at all):

echo       reports its whole input and its whole environment
sleep      ignores SIGTERM, starts a child that ignores it too, and sleeps forever (or
           ``config.seconds``, then reports success)
huge       writes a valid output.json of ``config.bytes`` bytes
hugefile   reports a file artifact of ``config.bytes`` bytes
noise      prints ``config.bytes`` bytes on stdout, writes no output.json
nothing    writes nothing at all
empty      writes an empty output.json
binary     writes bytes that are not UTF-8
array      writes a JSON array
nofull     writes {"success": true} without a report
directory  makes output.json a directory
escape     reports file artifacts outside output/ (.., a symlink, a sub-folder), one without
           a filename, and one good one
"""

import json
import os
import signal
import subprocess
import sys
import time

SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def main() -> None:
    folder = sys.argv[1]
    with open(os.path.join(folder, "input", "input.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    config = document.get("config") or {}
    service = config.get("service") or "echo"
    size = int(config.get("bytes") or 0)
    output = os.path.join(folder, "output", "output.json")
    marker = {"service": service, "pid": os.getpid(), "tlp": document.get("tlp")}
    if service == "sleep" and not isinstance(config.get("seconds"), (int, float)):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", SLEEPER])  # noqa: S603
        marker["child"] = child.pid
    leave_marker(config.get("markers"), marker)
    if service == "echo":
        full = {"input": document, "environ": dict(os.environ), "cwd": os.getcwd()}
        write(output, json.dumps({"success": True, "full": full}).encode())
    elif service == "sleep":
        nap(output, config.get("seconds"))
    elif service == "huge":
        head, tail = b'{"success": true, "full": {"blob": "', b'"}}'
        write(output, head + b"x" * max(0, size - len(head) - len(tail)) + tail)
    elif service == "hugefile":
        write(os.path.join(folder, "output", "big.bin"), b"\0" * size)
        artifact = {"dataType": "file", "file": "big.bin", "filename": "big.bin"}
        write(output, json.dumps({"success": True, "full": {}, "artifacts": [artifact]}).encode())
    elif service == "noise":
        sys.stdout.write("n" * size)
    elif service == "empty":
        write(output, b"")
    elif service == "binary":
        write(output, b"\xff\xfe\x00garbage\x80")
    elif service == "array":
        write(output, b"[1, 2, 3]")
    elif service == "nofull":
        write(output, b'{"success": true}')
    elif service == "directory":
        os.makedirs(output)
    elif service == "escape":
        escape(folder, output)
    # "nothing", and anything unknown: exit 0 having written nothing


def nap(output: str, seconds: object) -> None:
    if not isinstance(seconds, (int, float)):
        while True:
            time.sleep(60)
    time.sleep(seconds)
    write(output, json.dumps({"success": True, "full": {"slept": seconds}}).encode())


def escape(folder: str, output: str) -> None:
    out = os.path.dirname(output)
    os.symlink(os.path.join(folder, "input", "input.json"), os.path.join(out, "link.json"))
    os.makedirs(os.path.join(out, "sub"))
    write(os.path.join(out, "sub", "inner.txt"), b"inner")
    write(os.path.join(out, "kept.txt"), b"kept")
    names = ("../input/input.json", "link.json", "sub/inner.txt", "kept.txt")
    artifacts = [{"dataType": "file", "file": name, "filename": name} for name in names]
    artifacts.append({"dataType": "file", "file": "kept.txt"})  # no filename: dropped
    write(output, json.dumps({"success": True, "full": {}, "artifacts": artifacts}).encode())


def leave_marker(markers: object, marker: dict) -> None:
    if isinstance(markers, str) and markers:
        write(
            os.path.join(markers, f"{marker['service']}-{os.getpid()}.json"),
            json.dumps(marker).encode(),
        )


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


if __name__ == "__main__":
    main()
