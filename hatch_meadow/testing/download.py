"""File downloads on the simulated board (spec §7.3 to §7.6): one download's data, progress and verdict
(:class:`Download`), and the START / data / END requests with their faults (:class:`DownloadOperations`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from hatch_meadow.protocol.codes import FILE_INFO_SIZE, ResponseType
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.framing import FrameDecoder
from hatch_meadow.protocol.packets import DataPacket, FileInfo, Message, PacketError
from hatch_meadow.testing.board_files import resolve_file_path
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.replies import PROCESSING_ERROR, decode_name, error, info, reply

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


class DownloadOperations:
    """START, data packets and END, with the download faults (spec §7).

    Mixed into ``SimulatedMeadow``, which owns the attributes declared here and ``_fire``.
    """

    files: dict[str, bytes]
    runtime_enabled: bool
    faults: Faults
    faults_fired: Counter[str]
    starts: Counter[str]
    data_packets: int
    watchdog_s: float
    _download: Download | None
    _decoder: FrameDecoder
    _paused_until: float
    _stalled: bool
    _held_packets: list[bytes]
    _unread: bytearray

    def _fire(self, fault: str) -> None:
        raise NotImplementedError  # SimulatedMeadow's

    def _on_start(self, request: Message, now: float) -> list[Message]:
        if self.runtime_enabled:
            return [error("Mono must be disabled for file download"), reply(ResponseType.INIT_DOWNLOAD_FAIL),
                    reply(ResponseType.TEXT_CONCLUDED)]
        try:
            info = FileInfo.unpack(request.payload)
        except PacketError:
            return [error(PROCESSING_ERROR), reply(ResponseType.TEXT_CONCLUDED)]
        name = decode_name(request.payload[FILE_INFO_SIZE:])
        path = resolve_file_path(name)
        if path is not None and self._link_dies(path, self.faults.dead_at_start_suffix):
            return []
        if path is None:
            # No INIT_DOWNLOAD_FAIL on this path (spec §7.2).
            return [error(f"Path name '{name}' is invalid"), reply(ResponseType.TEXT_CONCLUDED),
                    error(PROCESSING_ERROR)]
        replies = [reply(ResponseType.TEXT_ACCEPTED)]
        self.starts[path] += 1
        if self.faults.init_fail_times > 0:
            self.faults.init_fail_times -= 1
            self._fire("init_fail")
            # sim: CONCLUDED follows a failed open (unconfirmed on hardware, spec §7.3).
            reason = f"File '{path}' Init for download failed because another file is being processed"
            return [*replies, reply(ResponseType.INIT_DOWNLOAD_FAIL, reason), reply(ResponseType.TEXT_CONCLUDED)]
        # Delete, then create (Meadow issue #855 workaround), and arm the watchdog (spec §7.3).
        self.files.pop(path, None)
        self.files[path] = b""
        self._download = Download(path=path, size=info.size, crc=info.crc, deadline=now + self.watchdog_s)
        return [*replies, reply(ResponseType.INIT_DOWNLOAD_OKAY)]

    def _on_data(self, packet: DataPacket, now: float) -> list[Message]:
        download = self._download
        if download is None:
            return []  # data outside a download is ignored (spec §15)
        download.packets += 1
        self.data_packets += 1
        faults = self.faults
        number = self.data_packets if faults.session_packets else download.packets
        if faults.drop_data_packet == number:
            faults.drop_data_packet = None
            self._fire("drop_data_packet")
            return []  # lost on the way: no CRC update, no watchdog re-arm
        data = packet.data
        suffix = faults.corrupt_path_suffix
        if (faults.corrupt_data_packet == number or (suffix and download.path.endswith(suffix))) and data:
            if faults.corrupt_data_packet == number:
                faults.corrupt_data_packet = None
            self._fire("corrupt_data_packet")
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        replies = download.append(data, now + self.watchdog_s)
        if faults.resend_after_packet == number:
            faults.resend_after_packet = None
            self._fire("resend")
            return replies + self._abort_download(download)
        if faults.pause_after_packet == number:
            faults.pause_after_packet = None
            self._fire("pause_after_packet")
            self._paused_until = now + faults.pause_s
        if faults.stall_after_packets == number:
            faults.stall_after_packets = None
            self._fire("stall_after_packets")
            self._stalled = True
        return replies

    def _abort_download(self, download: Download) -> list[Message]:
        """Watchdog expiry: delete the partial file, clear the receive buffer, ask for a resend (§7.5)."""
        self._download = None
        self.files.pop(download.path, None)
        self._decoder = FrameDecoder()
        if self.faults.watchdog_clears_input:
            self._fire("watchdog_cleared_input")
            self._held_packets.clear()
            self._unread.clear()
        return [reply(ResponseType.DNLD_FAIL_RESEND, f"File '{download.path}' download failed, resend")]

    def _on_end(self, request: Message, now: float) -> list[Message]:
        download = self._download
        concluded = reply(ResponseType.TEXT_CONCLUDED)
        if download is None:
            return [error("'End' command received, but no active download"), concluded]
        self._download = None
        # sim: a failed file stays on the flash as written; the spec does not say it is deleted.
        self.files[download.path] = bytes(download.buffer)
        if self._link_dies(download.path, self.faults.dead_after_end_suffix):
            return []
        return [download.verdict(), concluded]

    def _link_dies(self, path: str, suffix: str | None) -> bool:
        if suffix is None or not path.endswith(suffix):
            return False
        self._fire("link_died")
        self.faults.silent = True
        return True
