"""What a board file is made of: bytes in memory, or a file on disk read a chunk at a time.

A credential is a few kB and travels as bytes; an app's build output may hold files of any size, so those are
described by size and CRC (computed by streaming the file once) and read again, chunk by chunk, while they
are sent: memory stays flat whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from hatch_meadow.errors import InputError
from hatch_meadow.protocol.crc import nuttx_crc32

#: Read size when streaming a file from disk (a multiple of the HCOM data packet size).
READ_BYTES: Final = 1 << 16


class Source(Protocol):
    """A file to send: its size, its NuttX CRC-32, and its bytes in chunks."""

    @property
    def size(self) -> int:
        """Bytes in the file."""
        ...

    @property
    def crc(self) -> int:
        """NuttX CRC-32 of the whole file (what the board checks at END)."""
        ...

    def chunks(self, size: int) -> Iterator[bytes]:
        """The file's bytes in pieces of ``size`` (the last may be shorter)."""
        ...


@dataclass(frozen=True, slots=True)
class BytesSource:
    """A file held in memory."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def crc(self) -> int:
        return nuttx_crc32(self.data)

    def chunks(self, size: int) -> Iterator[bytes]:
        for offset in range(0, len(self.data), size):
            yield self.data[offset:offset + size]


class DiskSource:
    """A file on disk: its size when it was found; its CRC computed on first use by reading it once in chunks."""

    __slots__ = ("_crc", "path", "size")

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._crc: int | None = None

    @classmethod
    def stat(cls, path: Path) -> DiskSource:
        """The file at ``path`` as it is now (size only; nothing is read yet).

        Raises:
            OSError: it cannot be inspected.
        """
        return cls(path, path.stat().st_size)

    @property
    def crc(self) -> int:
        """NuttX CRC-32 of the first ``size`` bytes, streamed.

        Raises:
            InputError: the file cannot be read.
        """
        if self._crc is None:
            crc = 0
            for block in self.chunks(READ_BYTES):
                crc = nuttx_crc32(block, crc)
            self._crc = crc
        return self._crc

    def chunks(self, size: int) -> Iterator[bytes]:
        """The bytes, never more than ``self.size`` of them (a file that grew is cut; one that shrank or changed
        fails the board's CRC check at END, and the write is retried and then reported).

        Raises:
            InputError: the file vanished or cannot be read any more.
        """
        left = self.size
        try:
            with self.path.open("rb") as handle:
                while left > 0:
                    block = handle.read(min(size, left))
                    if not block:
                        return
                    left -= len(block)
                    yield block
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read it ({exc.strerror}) while sending it",
                             hint="rebuild the app and deploy again") from exc


def as_source(data: bytes | Source) -> Source:
    """Bytes wrapped as a Source; a Source as it is."""
    return BytesSource(data) if isinstance(data, bytes) else data
