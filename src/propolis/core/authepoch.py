"""The auth epoch: one number that changes after the commit of anything an authenticated
caller depends on (a user, a membership, an organisation, a profile, a session's end).

Each process remembers the callers it authenticated (``users.auth``) together with the
epoch it read *before* reading the database, and uses an entry only while the epoch is
the same. The number lives in a small file of the data folder mapped into the memory of
every process that opened it (the workers of ``serve --workers N``, the CLI): reading it
is a memory load, not a database read, and a change made by any of them is seen by all
the others at their next request. Processes on other hosts sharing the database do not
share that memory; for them the entries' time-to-live (``auth_cache_seconds``) is the
bound. Until :func:`configure` is called the epoch is this process's own counter.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
from pathlib import Path

_FORMAT = "<Q"
_SIZE = struct.calcsize(_FORMAT)


class _LocalEpoch:
    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def current(self) -> int:
        return self._value

    def bump(self) -> None:
        with self._lock:
            self._value += 1


class _SharedEpoch:
    """A counter in a memory-mapped file: every process mapping it sees the same bytes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)  # zero-filled; two processes doing it agree
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)  # the mapping keeps the file

    def current(self) -> int:
        return struct.unpack_from(_FORMAT, self._map)[0]

    def bump(self) -> None:
        # Rare (an administrator's change): a file lock makes the increment atomic
        # across processes.
        with open(self._path, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            struct.pack_into(_FORMAT, self._map, 0, self.current() + 1)


_epoch: _LocalEpoch | _SharedEpoch = _LocalEpoch()


def configure(data_dir: Path) -> None:
    """Share the epoch with the other processes of this data folder."""
    global _epoch
    path = Path(data_dir) / "auth.epoch"
    if isinstance(_epoch, _SharedEpoch) and _epoch._path == path:
        return
    _epoch = _SharedEpoch(path)


def current() -> int:
    return _epoch.current()


def bump() -> None:
    _epoch.bump()
