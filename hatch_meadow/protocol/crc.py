"""NuttX CRC32 (spec §6): reflected CRC-32, polynomial 0xEDB88320, initial value 0, no final XOR."""

from __future__ import annotations

import zlib


def nuttx_crc32(data: bytes, crc: int = 0) -> int:
    """CRC of ``data`` continuing from ``crc`` (0 to start). ``nuttx_crc32(b"123456789") == 0x2DFD2D88``."""
    # zlib's CRC-32 pre- and post-inverts; undoing both gives NuttX's crc32part(data, len, crc).
    return zlib.crc32(data, crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF
