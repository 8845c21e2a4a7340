"""One F7 file download on the simulated board (spec §7.3 to §7.6): data in, progress and verdict out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.packets import Message
from hatch_meadow.testing.replies import error, info

#: "File N% downloaded" is sent each time the percentage crosses a multiple of 10 (spec §7.4).
PROGRESS_STEP_PERCENT: Final = 10


@dataclass
class Download:
    """An active download: what START announced, what arrived, and when the watchdog fires."""

    path: str
    size: int
    crc: int
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    running_crc: int = 0
    packets: int = 0
    reported_percent: int = 0

    def append(self, data: bytes, deadline: float) -> list[Message]:
        """Take one data packet's bytes and re-arm the watchdog; the progress line it earns, if any."""
        replies: list[Message] = []
        if self.size > 0:
            # Progress is computed from the bytes received *before* this packet (spec §7.4).
            percent = len(self.buffer) * 100 // self.size
            step = percent - percent % PROGRESS_STEP_PERCENT
            if step > self.reported_percent:
                self.reported_percent = step
                replies.append(info(f"File {step}% downloaded"))
        self.buffer += data
        self.running_crc = nuttx_crc32(data, self.running_crc)
        self.deadline = deadline
        return replies

    def verdict(self) -> Message:
        """END's result: three CRCs and the size compared (spec §7.6); "f/s read" is the stored file's CRC."""
        stored_crc = nuttx_crc32(bytes(self.buffer))
        prefix = f"Download of '{self.path}'"
        if not self.running_crc == self.crc == stored_crc:
            return error(f"{prefix} failed due to checksum mismatch, f/s read:0x{stored_crc:08X}, "
                         f"dnld calc:0x{self.running_crc:08X}, sender:0x{self.crc:08X}")
        if len(self.buffer) != self.size:
            return error(f"{prefix} failed due to file size mismatch calculated:{len(self.buffer)}, "
                         f"sender:{self.size}")
        return info(f"{prefix} succeeded (checksum:0x{self.crc:08X})")
