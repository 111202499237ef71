"""Attachment bytes, stored once per content (content-addressed by sha256).

Files are streamed in chunks while md5/sha1/sha256 are computed, written to a temporary
file and renamed into ``<root>/<sha256[:2]>/<sha256>`` (rename is atomic, so a reader never
sees half a file, and two uploads of the same content share one copy).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    sha1: str
    md5: str
    size: int


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 digest")
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: BinaryIO, max_bytes: int | None = None) -> StoredFile:
        sha256, sha1, md5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()  # noqa: S324
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise ValueError(f"file larger than {max_bytes} bytes")
                    for h in (sha256, sha1, md5):
                        h.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            digest = sha256.hexdigest()
            target = self.path(digest)
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                os.unlink(tmp_name)
                # A new use of old bytes: fresh again, so a garbage collection running before
                # this upload's row is committed does not take them (see ``collect``).
                os.utime(target)
            else:
                os.replace(tmp_name, target)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        return StoredFile(digest, sha1.hexdigest(), md5.hexdigest(), size)

    def put_bytes(self, data: bytes) -> StoredFile:
        import io

        return self.put_stream(io.BytesIO(data))

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def read_chunks(self, sha256: str) -> Iterator[bytes]:
        with self.path(sha256).open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def read_bytes(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def collect(self, referenced: set[str], grace_seconds: float) -> tuple[int, int]:
        """Remove the stored files no row references, and abandoned partial uploads; files
        younger than ``grace_seconds`` stay (their row may not be committed yet). Returns
        (files removed, bytes freed)."""
        removed = freed = 0
        horizon = time.time() - grace_seconds
        for path in self.root.glob("*/*"):
            if path.name in referenced or not path.is_file():
                continue
            removed, freed = self._remove_old(path, horizon, removed, freed)
        for path in self.root.glob(".upload-*"):
            removed, freed = self._remove_old(path, horizon, removed, freed)
        return removed, freed

    @staticmethod
    def _remove_old(path: Path, horizon: float, removed: int, freed: int) -> tuple[int, int]:
        try:
            stat = path.stat()
            if stat.st_mtime > horizon:
                return removed, freed
            path.unlink()
        except FileNotFoundError:  # another process collected it first
            return removed, freed
        return removed + 1, freed + stat.st_size
