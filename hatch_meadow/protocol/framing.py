"""COBS framing with 0x00 delimiters (spec §2), using the ``cobs`` package."""

from __future__ import annotations

from cobs import cobs


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
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return every packet completed by them, in order."""
        self._pending += chunk
        if b"\x00" not in chunk:
            return []
        *complete, rest = self._pending.split(b"\x00")
        self._pending = bytearray(rest)
        packets = []
        for raw in complete:
            if not raw:
                continue
            try:
                packets.append(bytes(cobs.decode(bytes(raw))))
            except cobs.DecodeError:
                self.dropped += 1
        return packets

    @property
    def buffered(self) -> int:
        """Bytes waiting for their delimiter."""
        return len(self._pending)
