"""COBS framing with 0x00 delimiters (spec §2), using the ``cobs`` package."""

from __future__ import annotations

from typing import Final

from cobs import cobs

from hatch_meadow.protocol.codes import MAX_PACKET_BYTES

#: The longest COBS encoding of the longest packet (one overhead byte per 254, plus one).
MAX_FRAME_BYTES: Final = MAX_PACKET_BYTES + MAX_PACKET_BYTES // 254 + 2


def encode_frame(packet: bytes) -> bytes:
    """``00 + COBS(packet) + 00``: the leading delimiter ends any garbage the peer may have buffered."""
    return b"\x00" + bytes(cobs.encode(packet)) + b"\x00"


class FrameDecoder:
    """Turn arbitrary chunks of the byte stream into decoded packets. No I/O.

    Empty frames (a lone 0x00) only resynchronise; frames that fail to decode are dropped and
    counted, never raised: a glitch on the line must not kill a transfer that can still succeed.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._overflow = False  # inside an over-long frame: drop bytes until its delimiter
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return every packet completed by them, in order.

        A frame longer than any the protocol allows (a board streaming bytes without a delimiter) is
        dropped as it grows, so memory stays bounded whatever arrives.
        """
        if b"\x00" not in chunk:
            self._grow(chunk)
            return []
        first, *middle, rest = chunk.split(b"\x00")
        self._grow(first)
        complete = [] if self._overflow else [bytes(self._pending)]
        self._overflow = False
        complete += middle
        self._pending = bytearray()
        self._grow(rest)
        packets = []
        for raw in complete:
            if not raw:
                continue
            if len(raw) > MAX_FRAME_BYTES:
                self.dropped += 1
                continue
            try:
                packets.append(bytes(cobs.decode(bytes(raw))))
            except cobs.DecodeError:
                self.dropped += 1
        return packets

    def _grow(self, data: bytes) -> None:
        if self._overflow:
            return
        self._pending += data
        if len(self._pending) > MAX_FRAME_BYTES:
            self._pending = bytearray()
            self._overflow = True
            self.dropped += 1

    @property
    def buffered(self) -> int:
        """Bytes waiting for their delimiter."""
        return len(self._pending)
