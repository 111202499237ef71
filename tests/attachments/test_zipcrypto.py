"""The ZipCrypto writer produces archives that Python's zipfile opens with "malware"."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from propolis.attachments.zipcrypto import archive_size, encrypted_zip


def _zip(name: str, data: bytes, chunk: int = 7000) -> bytes:
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    return b"".join(encrypted_zip(name, chunks, len(data)))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("sample.exe", os.urandom(50_000)),
        ("empty.bin", b""),
        ("rapport-été.txt", "données".encode()),
    ],
    # Named ids: the random bytes would differ between the suite's test processes (xdist).
    ids=["binary", "empty", "non-ascii-name"],
)
def test_zipfile_decrypts_with_the_password(name: str, data: bytes) -> None:
    blob = _zip(name, data)
    archive = zipfile.ZipFile(io.BytesIO(blob))
    assert archive.namelist() == [name]
    info = archive.getinfo(name)
    assert info.flag_bits & 0x1, "the entry must be encrypted"
    assert archive.read(name, pwd=b"malware") == data


def test_the_announced_length_is_exact() -> None:
    for name, size in (("a", 0), ("x.bin", 12345), ("é.txt", 3)):
        assert len(_zip(name, os.urandom(size))) == archive_size(name, size)


def test_a_wrong_password_is_refused() -> None:
    blob = _zip("sample.exe", b"MZ" + os.urandom(1000))
    archive = zipfile.ZipFile(io.BytesIO(blob))
    for password in (b"wrong", b"Malware", b"malware2"):
        # the check byte rejects 255 wrong passwords out of 256; the CRC catches the rest
        with pytest.raises((RuntimeError, zipfile.BadZipFile)):
            archive.read("sample.exe", pwd=password)


def test_a_short_stream_is_an_error_not_a_truncated_archive() -> None:
    with pytest.raises(ValueError):
        b"".join(encrypted_zip("x", [b"abc"], 10))
