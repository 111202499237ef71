"""Reading zip archives sent by callers (case archives, zipped observables, MISP samples)
without letting a crafted one exhaust the server.

Before a byte is decompressed, the archive's directory is checked against the limits
(settings ``archive_*``): number of members, declared size of each member and of all of
them, and compression ratio (a "zip bomb" expands a few hundred KB into gigabytes). Then
members are *streamed* into spooled temporary files (on disk beyond a few MB) with a
running count, so a member whose data does not match its declared size is cut off too:
nothing ever holds more than one chunk of decompressed data in memory, except a manifest
the caller asks for as bytes, which has its own limit.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from propolis.core.errors import PayloadTooLarge

CHUNK = 1024 * 1024
# Below this size a member is never refused for its ratio: small, very regular files
# (a JSON manifest, a text note) compress far better than 100:1 and expand to nothing.
RATIO_FLOOR = 1024 * 1024
SPOOL_IN_MEMORY = 4 * 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 10_000
    max_member_bytes: int = 1024**3
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0

    @classmethod
    def from_settings(cls, settings: Any) -> ZipLimits:
        if settings is None:
            return cls()
        return cls(
            max_members=settings.archive_max_members,
            max_member_bytes=settings.archive_max_member_bytes,
            max_total_bytes=settings.archive_max_total_bytes,
            max_ratio=settings.archive_max_ratio,
        )


def check_members(members: Iterable[zipfile.ZipInfo], limits: ZipLimits, what: str) -> None:
    """Refuse (413) an archive whose directory announces more than the limits allow."""
    total = 0
    for count, member in enumerate(members, start=1):
        if count > limits.max_members:
            raise PayloadTooLarge(f"{what} has more than {limits.max_members} files")
        size = member.file_size
        if size > limits.max_member_bytes:
            raise PayloadTooLarge(
                f"{member.filename} in {what} expands to more than {limits.max_member_bytes} bytes"
            )
        if size > RATIO_FLOOR and size > limits.max_ratio * max(member.compress_size, 1):
            raise PayloadTooLarge(
                f"{member.filename} in {what} expands more than {limits.max_ratio:g} times"
                " its compressed size"
            )
        total += size
        if total > limits.max_total_bytes:
            raise PayloadTooLarge(f"{what} expands to more than {limits.max_total_bytes} bytes")


def copy_limited(source: IO[bytes], target: IO[bytes], limit: int, what: str) -> int:
    """Copy at most ``limit`` bytes, one chunk at a time; over it is a 413."""
    copied = 0
    while chunk := source.read(CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise PayloadTooLarge(f"{what} expands to more than {limit} bytes")
        target.write(chunk)
    return copied


def spool_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, pwd: bytes | None = None
) -> tuple[IO[bytes], int]:
    """The member's bytes in a temporary file (memory, then disk), and their size."""
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        with archive.open(member, pwd=pwd) as stream:
            size = copy_limited(stream, spooled, min(limit, member.file_size), member.filename)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled, size


def read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, pwd: bytes | None = None
) -> bytes:
    """A small member (a manifest) as bytes, refused (413) over ``limit``."""
    if member.file_size > limit:
        raise PayloadTooLarge(f"{member.filename} is larger than {limit} bytes")
    spooled, _size = spool_member(archive, member, limit, pwd)
    with spooled:
        return spooled.read()
