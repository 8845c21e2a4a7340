"""The Meadow device API over any Transport: one request at a time, bounded waits, explicit retries.

``request()`` is the only loop that waits: it writes one framed request, feeds what arrives to the
frame decoder and the exchange rules, and stops on the reply that ends the request or at the
deadline. RECONNECT (the board reboots) is handled by reopening the port and pinging until the board
answers. Timeouts and retry counts are named constants below, each with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hatch_meadow.errors import DeviceRejectedError, DeviceTimeoutError, TransportError
from hatch_meadow.protocol import packets
from hatch_meadow.protocol.codes import MAX_DATA_BYTES, RequestType, ResponseType
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.exchange import Exchange, Status
from hatch_meadow.protocol.framing import FrameDecoder, encode_frame
from hatch_meadow.protocol.text import FileEntry, parse_device_info, parse_file_line, runtime_enabled
from hatch_meadow.transport import Transport

log = logging.getLogger(__name__)

#: Most requests are answered in milliseconds; the vendor CLI allows 30 s (spec §12.1).
REQUEST_TIMEOUT_S: Final = 30.0
#: START waits for the board to delete and create the file; the CLI allows 30 s (spec §7.3).
START_TIMEOUT_S: Final = 30.0
#: END re-reads the file from flash to compute its CRC: size-dependent; this covers several MB.
END_TIMEOUT_S: Final = 60.0
#: After a reboot, how long the board may take to answer again (the CLI allows 10 s after reset).
BOOT_TIMEOUT_S: Final = 20.0
#: While waiting for a rebooted board, the ping is repeated this often.
PING_INTERVAL_S: Final = 0.5
#: After reconnecting, replies to repeated pings are drained until the line is quiet this long.
DRAIN_QUIET_S: Final = 0.05
DRAIN_MAX_S: Final = 1.0
#: A file is sent at most this many times (DNLD_FAIL_RESEND, CRC mismatch), then we fail loudly.
WRITE_ATTEMPTS: Final = 3
#: Packets written per transport write: big writes keep USB busy without any pause near the 3 s watchdog.
PACKETS_PER_WRITE: Final = 8
MEADOW_ROOT: Final = "/meadow0/"

Progress = Callable[[int, int], None]  # (bytes sent, total)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait, in seconds (the defaults are the module constants; tests shorten them)."""

    request: float = REQUEST_TIMEOUT_S
    start: float = START_TIMEOUT_S
    end: float = END_TIMEOUT_S
    boot: float = BOOT_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """GET_DEVICE_INFORMATION, parsed; keys lower-case."""

    fields: dict[str, str]

    @property
    def serial_number(self) -> str:
        """The board's serial number (SerialNo), or its ProcessorId, or "unknown"."""
        return self.fields.get("serialno") or self.fields.get("processorid") or "unknown"

    @property
    def os_version(self) -> str:
        """The Meadow OS version text."""
        return self.fields.get("osversion", "unknown")


class MeadowDevice:
    """A Meadow board behind a transport. Not thread-safe: one request at a time, by design."""

    def __init__(self, transport: Transport, *, timeouts: Timeouts | None = None) -> None:
        self.transport = transport
        self.timeouts = timeouts or Timeouts()
        self._decoder = FrameDecoder()
        self._backlog: list[packets.Message] = []
        self.bytes_sent = 0  # everything written to the wire, framing included
        self.payload_sent = 0  # file bytes inside data packets

    # -- the one waiting loop ------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self.transport.write(data)
        self.bytes_sent += len(data)

    def _pump(self, exchange: Exchange, deadline: float) -> None:
        while self._backlog and not exchange.done:
            exchange.feed(self._backlog.pop(0))
        while not exchange.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeoutError(
                    f"{self.transport.name}: no answer to {exchange.request.name} within the time allowed",
                    hint="is this a Meadow? is the app flooding the port? unplug and re-plug the board, then retry")
            chunk = self.transport.read(min(remaining, 0.25))
            for packet in self._decoder.feed(chunk):
                try:
                    message = packets.parse_packet(packet)
                except packets.PacketError:
                    continue
                if not isinstance(message, packets.Message):
                    continue
                if exchange.done:  # arrived in the same read as the terminal reply: keep it for later
                    self._backlog.append(message)
                else:
                    exchange.feed(message)
        for note in exchange.unsolicited:
            log.debug("device output: %s", note.text)

    def request(self, kind: RequestType, payload: bytes = b"", *, user_data: int = 0,
                timeout: float | None = None, packet: bytes | None = None) -> Exchange:
        """Send one request and collect its replies; follow a reboot when the request causes one.

        Raises:
            DeviceTimeoutError: no terminal reply in time. TransportError: the port failed.
        """
        exchange = Exchange(kind)
        self._write(encode_frame(packet if packet is not None else packets.encode_request(
            kind, payload, user_data=user_data)))
        self._pump(exchange, time.monotonic() + (timeout if timeout is not None else self.timeouts.request))
        if exchange.status is Status.RECONNECT:
            self._reconnect()
        elif exchange.status is Status.FAILED:
            # Failures often have trailing replies (an invalid path: ERROR, CONCLUDED, ERROR; an init
            # failure: FAIL, CONCLUDED). Swallow them so they cannot end the next request early.
            self._drain()
        return exchange

    def _reconnect(self) -> None:
        """The board reboots: reopen the port and ping until it answers (bounded)."""
        log.debug("%s: board restarting", self.transport.name)
        self.transport.reopen()
        self._decoder = FrameDecoder()
        self._backlog.clear()
        deadline = time.monotonic() + self.timeouts.boot
        while True:
            # A ping sent while the board is still booting is lost, so ping again until one is answered.
            ping = Exchange(RequestType.GET_DEVICE_INFORMATION)
            self._write(encode_frame(packets.encode_request(RequestType.GET_DEVICE_INFORMATION)))
            try:
                self._pump(ping, min(deadline, time.monotonic() + PING_INTERVAL_S))
                break
            except DeviceTimeoutError:
                if time.monotonic() >= deadline:
                    raise
        self._drain()

    def _drain(self) -> None:
        """Swallow stray replies: read until the line has been quiet for a moment (bounded)."""
        self._backlog.clear()
        stop = time.monotonic() + DRAIN_MAX_S
        while time.monotonic() < stop:
            chunk = self.transport.read(DRAIN_QUIET_S)
            if not chunk:
                break
            self._decoder.feed(chunk)

    def _checked(self, exchange: Exchange, what: str) -> Exchange:
        if exchange.status is Status.FAILED:
            raise DeviceRejectedError(f"{self.transport.name}: {what} failed: {exchange.reason}")
        return exchange

    # -- device API ------------------------------------------------------------------------------

    def info(self) -> DeviceInfo:
        """Model, OS version, serial number…"""
        exchange = self._checked(self.request(RequestType.GET_DEVICE_INFORMATION), "device information")
        texts = exchange.texts(ResponseType.TEXT_DEVICE_INFO)
        return DeviceInfo(parse_device_info(texts[-1] if texts else ""))

    def runtime_state(self) -> bool:
        """True when the .NET runtime is enabled (file writes need it disabled)."""
        exchange = self._checked(self.request(RequestType.MONO_RUN_STATE), "reading the runtime state")
        for text in exchange.texts(ResponseType.TEXT_INFORMATION):
            state = runtime_enabled(text)
            if state is not None:
                return state
        raise DeviceRejectedError(f"{self.transport.name}: the board did not say whether its runtime is enabled")

    def disable_runtime(self) -> None:
        """Disable the runtime (the board reboots)."""
        self._checked(self.request(RequestType.MONO_DISABLE), "disabling the runtime")

    def enable_runtime(self) -> None:
        """Enable the runtime (the board reboots)."""
        self._checked(self.request(RequestType.MONO_ENABLE), "enabling the runtime")

    def reset(self) -> None:
        """Restart the board and wait until it answers again."""
        self._checked(self.request(RequestType.RESTART_PRIMARY_MCU), "restarting the board")

    def list_files(self, folder: str = MEADOW_ROOT, *, crc: bool = True) -> list[FileEntry]:
        """The entries of ``folder`` (a '/meadow0/…/' path ending in '/')."""
        kind = RequestType.LIST_FILES_SUBDIR_CRC if crc else RequestType.LIST_FILES_SUBDIR
        exchange = self._checked(self.request(kind, folder.encode("ascii")), f"listing {folder}")
        lines = [m.text for m in exchange.messages
                 if m.type in (ResponseType.TEXT_LIST_MEMBER, ResponseType.TEXT_CRC_MEMBER)]
        return [entry for entry in map(parse_file_line, lines) if entry is not None]

    def delete_file(self, path: str) -> None:
        """Delete one file."""
        self._checked(self.request(RequestType.DELETE_FILE_BY_NAME, packet=packets.encode_delete(path)),
                      f"deleting {path}")

    def write_file(self, data: bytes, dest: str, progress: Progress | None = None) -> int:
        """Write ``data`` to ``dest`` ('/meadow0/name'); verified by the board's CRC check at END.

        Returns the number of attempts it took. Retries the whole file on DNLD_FAIL_RESEND, a CRC or
        size mismatch, or a refused start, at most WRITE_ATTEMPTS times.

        Raises:
            DeviceRejectedError: still failing after WRITE_ATTEMPTS, or a refusal that retrying cannot fix.
            DeviceTimeoutError / TransportError: the board or the port stopped working.
        """
        crc = nuttx_crc32(data)
        reasons: list[str] = []
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            start_packet = packets.encode_file_start(dest, len(data), crc)
            start = self.request(RequestType.START_FILE_TRANSFER, packet=start_packet, timeout=self.timeouts.start)
            if start.status is not Status.OK:
                reasons.append(start.reason)
                if "must be disabled" in start.reason or "invalid" in start.reason:
                    raise DeviceRejectedError(f"{self.transport.name}: the board refused {dest}: {start.reason}")
                continue
            failure = self._send_data(data, progress)
            end = self.request(RequestType.END_FILE_TRANSFER, timeout=self.timeouts.end)
            if failure is None and end.status is Status.OK:
                return attempt
            reasons.append(failure or end.reason)
            log.debug("%s: attempt %d for %s failed: %s", self.transport.name, attempt, dest, reasons[-1])
        raise DeviceRejectedError(
            f"{self.transport.name}: writing {dest} failed {WRITE_ATTEMPTS} times: {'; '.join(reasons)}",
            hint="check the cable (a USB hub can corrupt transfers) and retry; reset the board if it persists")

    def _send_data(self, data: bytes, progress: Progress | None) -> str | None:
        """Stream the data packets back to back; return a failure reason if the board gave up meanwhile."""
        seq, sent, batch = 0, 0, []
        total = len(data)
        for offset in range(0, total, MAX_DATA_BYTES):
            seq = packets.next_seq(seq)
            chunk = data[offset:offset + MAX_DATA_BYTES]
            batch.append(encode_frame(packets.encode_data(seq, chunk)))
            self.payload_sent += len(chunk)
            sent += len(chunk)
            if len(batch) >= PACKETS_PER_WRITE or sent == total:
                self._write(b"".join(batch))
                batch.clear()
                if progress:
                    progress(sent, total)
                failure = self._resend_requested()
                if failure:
                    return failure
        return None

    def _resend_requested(self) -> str | None:
        """Look (without waiting) for DNLD_FAIL_RESEND or an error sent during the transfer."""
        chunk = self.transport.read(0)
        for packet in self._decoder.feed(chunk):
            try:
                message = packets.parse_packet(packet)
            except packets.PacketError:
                continue
            if isinstance(message, packets.Message) and message.type in (
                    ResponseType.DNLD_FAIL_RESEND, ResponseType.TEXT_ERROR):
                return message.text or "the board asked to resend the file"
        return None

    def read_file(self, path: str) -> bytes:
        """Read a file back from the board, verifying the CRC the board announces.

        Raises:
            DeviceRejectedError: no such file, or the bytes do not match the announced CRC/size.
        """
        init = self._checked(self.request(RequestType.UPLOAD_FILE_INIT, path.encode("ascii")), f"reading {path}")
        okay = [m for m in init.messages if m.type == ResponseType.INIT_UPLOAD_OKAY]
        info = packets.FileInfo.unpack(okay[-1].payload) if okay else None
        data_exchange = self._checked(self.request(RequestType.UPLOAD_START_DATA_SEND), f"reading {path}")
        data = b"".join(m.payload for m in data_exchange.messages if m.type == ResponseType.UPLOADING_FILE_DATA)
        if info is not None and (len(data) != info.size or nuttx_crc32(data) != info.crc):
            raise DeviceRejectedError(f"{self.transport.name}: {path} came back corrupted (CRC/size mismatch)",
                                      hint="retry; large reads are known to be unreliable on some OS versions")
        return data

    def close(self) -> None:
        """Close the transport."""
        with contextlib.suppress(TransportError):
            self.transport.close()
