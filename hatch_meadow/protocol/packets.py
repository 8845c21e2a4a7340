"""HCOM packets (spec §3, §7.2, §7.4): the 12-byte header, data packets, the file-info block, and
typed messages decoded from frames. All integers little-endian."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from hatch_meadow.protocol.codes import (
    F7_MD5_PLACEHOLDER,
    FILE_INFO_SIZE,
    HEADER_SIZE,
    MAX_DATA_BYTES,
    PROTOCOL_VERSION,
    RequestType,
    ResponseType,
)

_HEADER: Final = struct.Struct("<HHHHI")  # seq, version, type, extra, user data
_FILE_INFO: Final = struct.Struct("<III32s")  # size, crc, flash address, md5 field


class PacketError(ValueError):
    """A packet too short or otherwise not HCOM."""


@dataclass(frozen=True, slots=True)
class Header:
    """The standard header of every command and response."""

    type: int
    user_data: int = 0
    extra: int = 0
    version: int = PROTOCOL_VERSION
    seq: int = 0

    def pack(self) -> bytes:
        """The 12 header bytes."""
        return _HEADER.pack(self.seq, self.version, self.type, self.extra, self.user_data)

    @classmethod
    def unpack(cls, packet: bytes) -> Header:
        """Read the header at the start of ``packet``. Raises PacketError."""
        if len(packet) < HEADER_SIZE:
            raise PacketError(f"{len(packet)}-byte packet is shorter than the 12-byte header")
        seq, version, kind, extra, user_data = _HEADER.unpack_from(packet)
        return cls(type=kind, user_data=user_data, extra=extra, version=version, seq=seq)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """The 44-byte file-info block of START_FILE_TRANSFER, DELETE_FILE_BY_NAME and INIT_UPLOAD_OKAY."""

    size: int = 0
    crc: int = 0
    flash_address: int = 0
    md5: bytes = b"\x00" * 32

    def pack(self) -> bytes:
        """The 44 bytes."""
        return _FILE_INFO.pack(self.size, self.crc, self.flash_address, self.md5)

    @classmethod
    def unpack(cls, data: bytes) -> FileInfo:
        """Read a block. Raises PacketError."""
        if len(data) < FILE_INFO_SIZE:
            raise PacketError("file-info block is shorter than 44 bytes")
        size, crc, address, md5 = _FILE_INFO.unpack_from(data)
        return cls(size, crc, address, md5)


def encode_request(kind: RequestType, payload: bytes = b"", *, user_data: int = 0, extra: int = 0) -> bytes:
    """A command packet (sequence number 0): header + payload, not yet framed."""
    return Header(type=kind, user_data=user_data, extra=extra).pack() + payload


def encode_file_start(path: str, size: int, crc: int) -> bytes:
    """START_FILE_TRANSFER for an F7 file: the file-info block, then the ASCII destination path."""
    info = FileInfo(size=size, crc=crc, md5=F7_MD5_PLACEHOLDER).pack()
    return encode_request(RequestType.START_FILE_TRANSFER, info + path.encode("ascii"))


def encode_delete(path: str) -> bytes:
    """DELETE_FILE_BY_NAME: an empty file-info block, then the path."""
    return encode_request(RequestType.DELETE_FILE_BY_NAME, FileInfo().pack() + path.encode("ascii"))


def encode_data(seq: int, data: bytes) -> bytes:
    """A data packet: ``seq`` (1..65535, never 0) then up to 8188 file bytes. Raises PacketError."""
    if not 1 <= seq <= 0xFFFF:
        raise PacketError(f"data sequence number {seq} out of 1..65535")
    if len(data) > MAX_DATA_BYTES:
        raise PacketError(f"{len(data)} data bytes exceed {MAX_DATA_BYTES}")
    return struct.pack("<H", seq) + data


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``: 1, 2, … 65535, 1 (0 would make the device read a command)."""
    return 1 if seq >= 0xFFFF else seq + 1


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded device → host message."""

    type: int
    user_data: int = 0
    version: int = 7
    payload: bytes = b""

    @property
    def kind(self) -> ResponseType | None:
        """The type as a ResponseType, or None for a code we do not know."""
        try:
            return ResponseType(self.type)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The payload as text (device texts are ASCII/UTF-8 without a NUL)."""
        return self.payload.decode("utf-8", "replace").rstrip("\x00")

    def encode(self) -> bytes:
        """The packet (used by the simulator)."""
        return Header(type=self.type, user_data=self.user_data, version=self.version).pack() + self.payload


@dataclass(frozen=True, slots=True)
class DataPacket:
    """A host → device data packet (only the simulator receives these)."""

    seq: int
    data: bytes


def parse_packet(packet: bytes) -> Message | DataPacket:
    """Classify a decoded packet: sequence number 0 → a message with header; otherwise file data.

    Raises:
        PacketError: too short to be either.
    """
    if len(packet) < 2:
        raise PacketError("packet shorter than a sequence number")
    seq = int.from_bytes(packet[:2], "little")
    if seq != 0:
        return DataPacket(seq, packet[2:])
    header = Header.unpack(packet)
    return Message(type=header.type, user_data=header.user_data, version=header.version,
                   payload=packet[HEADER_SIZE:])
