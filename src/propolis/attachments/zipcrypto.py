"""A one-file ZIP archive encrypted with the traditional PKWARE scheme ("ZipCrypto"), streamed.

Why this exists: TheHive hands out malware samples as ``sample.zip`` with the password
``malware``, and its clients open them with Python's ``zipfile``, which can only *decrypt*
ZipCrypto (not AES). Neither the standard library nor ``pyzipper`` can *write* ZipCrypto
(pyzipper writes AES only), so the few dozen lines of the format live here.

ZipCrypto is weak cryptography; the point is only to keep antivirus scanners and careless
double-clicks away from the sample, which is all TheHive promises too.

The entry is STORED (samples rarely compress, and a stored entry has a size known in
advance, so the response can carry an exact ``Content-Length``). The local header uses the
"data descriptor" flag, so the CRC is written after the data and nothing is buffered.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Iterable, Iterator

PASSWORD = b"malware"

_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_UTF8_NAME = 0x0800
_VERSION = 20  # 2.0: what a stored, encrypted entry needs
_HEADER_LEN = 12  # the ZipCrypto encryption header prefixed to the data
_MAX_SIZE = 0xFFFFFFFF - _HEADER_LEN  # no ZIP64 here


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()
# The keystream byte depends only on the low 16 bits of key 2: precomputed once (64 KiB).
_STREAM = bytes(((((t | 2) * ((t | 2) ^ 1)) >> 8) & 0xFF) for t in range(65536))


class ZipCryptoEncrypter:
    """The PKWARE stream cipher: three 32-bit keys updated with every plaintext byte."""

    def __init__(self, password: bytes) -> None:
        self._keys = (0x12345678, 0x23456789, 0x34567890)
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self._keys
        k0 = _TABLE[(k0 ^ byte) & 0xFF] ^ (k0 >> 8)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _TABLE[(k2 ^ (k1 >> 24)) & 0xFF] ^ (k2 >> 8)
        self._keys = (k0, k1, k2)

    def encrypt(self, data: bytes) -> bytes:
        # One tight loop with local variables: this is the hot path of a sample download.
        k0, k1, k2 = self._keys
        table, stream = _TABLE, _STREAM
        out = bytearray(len(data))
        for i, plain in enumerate(data):
            out[i] = plain ^ stream[k2 & 0xFFFF]
            k0 = table[(k0 ^ plain) & 0xFF] ^ (k0 >> 8)
            k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
            k2 = table[(k2 ^ (k1 >> 24)) & 0xFF] ^ (k2 >> 8)
        self._keys = (k0, k1, k2)
        return bytes(out)


def _dos_datetime(timestamp: float) -> tuple[int, int]:
    t = time.localtime(timestamp)
    year = max(t.tm_year, 1980)
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


def _encoded_name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _FLAG_UTF8_NAME


def archive_size(name: str, size: int) -> int:
    """The exact byte length of :func:`encrypted_zip` for a file of ``size`` bytes."""
    name_len = len(_encoded_name(name)[0])
    local = 30 + name_len
    descriptor = 16
    central = 46 + name_len
    end = 22
    return local + _HEADER_LEN + size + descriptor + central + end


def encrypted_zip(
    name: str,
    chunks: Iterable[bytes],
    size: int,
    password: bytes = PASSWORD,
    timestamp: float | None = None,
) -> Iterator[bytes]:
    """Yield a ZIP archive holding one entry ``name`` whose content is ``chunks``."""
    if size > _MAX_SIZE:
        raise ValueError("file too large for a ZIP archive without ZIP64")
    raw_name, name_flag = _encoded_name(name)
    flags = _FLAG_ENCRYPTED | _FLAG_DATA_DESCRIPTOR | name_flag
    dos_time, dos_date = _dos_datetime(timestamp if timestamp is not None else time.time())

    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, _VERSION, flags, 0, dos_time, dos_date, 0, 0, 0,
        len(raw_name), 0,
    )  # fmt: skip
    yield local + raw_name

    encrypter = ZipCryptoEncrypter(password)
    # With a data descriptor, the check byte is the high byte of the DOS time (the CRC is
    # not known yet); readers verify the password against it.
    header = os.urandom(_HEADER_LEN - 1) + bytes([(dos_time >> 8) & 0xFF])
    yield encrypter.encrypt(header)

    crc = 0
    written = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        written += len(chunk)
        yield encrypter.encrypt(chunk)
    if written != size:
        raise ValueError(f"expected {size} bytes, read {written}")
    stored = size + _HEADER_LEN
    yield struct.pack("<IIII", 0x08074B50, crc, stored, size)

    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, _VERSION, _VERSION, flags, 0, dos_time, dos_date,
        crc, stored, size, len(raw_name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    central_offset = len(local) + len(raw_name) + stored + 16
    central_size = len(central) + len(raw_name)
    yield central + raw_name
    yield struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, central_size, central_offset, 0)
