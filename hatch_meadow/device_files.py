"""Writing and reading files on the board (spec §7, §8), mixed into :class:`hatch_meadow.device.MeadowDevice`.

A write is START, the data packets back to back (several per transport write, never pausing near the
board's 3 s download watchdog), then END, whose reply carries the board's CRC verdict; a failed attempt
marks the device out of step, so the sync before the next one closes whatever download is still open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from hatch_meadow.errors import DeviceRejectedError, DeviceTimeoutError, InputError
from hatch_meadow.filesource import Source, as_source
from hatch_meadow.protocol import packets
from hatch_meadow.protocol.codes import MAX_DATA_BYTES, RequestType, ResponseType
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.exchange import Exchange, Status, transfer_failure
from hatch_meadow.protocol.framing import encode_frame

if TYPE_CHECKING:
    from hatch_meadow.device import DeviceInfo, Timeouts
    from hatch_meadow.transport import Transport

log = logging.getLogger("hatch_meadow.device")

#: A file is sent at most this many times (DNLD_FAIL_RESEND, CRC mismatch), then we fail loudly.
WRITE_ATTEMPTS: Final = 3
#: Packets written per transport write: big writes keep USB busy without any pause near the 3 s watchdog.
PACKETS_PER_WRITE: Final = 8

Progress = Callable[[int, int], None]  # (bytes sent, total)


class FileTransfers:
    """``write_file`` and ``read_file``. ``MeadowDevice`` owns the attributes declared here and the request
    loop (``request``, ``sync``, ``_write``, ``_receive``, ``_checked``)."""

    transport: Transport
    timeouts: Timeouts
    payload_sent: int
    _out_of_step: bool
    _backlog: list[packets.Message]

    def request(self, kind: RequestType, payload: bytes = b"", *, user_data: int = 0,
                timeout: float | None = None, packet: bytes | None = None) -> Exchange:
        raise NotImplementedError  # MeadowDevice's

    def sync(self) -> DeviceInfo:
        raise NotImplementedError  # MeadowDevice's

    def _write(self, data: bytes) -> None:
        raise NotImplementedError  # MeadowDevice's

    def _receive(self, timeout: float) -> list[packets.Message]:
        raise NotImplementedError  # MeadowDevice's

    def _checked(self, exchange: Exchange, what: str) -> Exchange:
        raise NotImplementedError  # MeadowDevice's

    def write_file(self, data: bytes | Source, dest: str, progress: Progress | None = None) -> int:
        """Write ``data`` (bytes, or a file streamed from disk) to ``dest`` ('/meadow0/name'); verified by the
        board's CRC check at END.

        Returns the number of attempts it took. Retries the whole file (after a sync) on
        DNLD_FAIL_RESEND, a CRC or size mismatch, a refused or unanswered start, at most
        WRITE_ATTEMPTS times. A start the board accepted is always closed by an END whose reply is
        awaited, so no download is ever left open.

        Raises:
            DeviceRejectedError: still failing after WRITE_ATTEMPTS, or a refusal that retrying cannot fix.
            DeviceTimeoutError / TransportError: the board or the port stopped working.
        """
        source = as_source(data)
        reasons: list[str] = []
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            failure = self._write_attempt(source, dest, progress)
            if failure is None:
                return attempt
            reasons.append(failure)
            log.debug("%s: attempt %d for %s failed: %s", self.transport.name, attempt, dest, failure)
        raise DeviceRejectedError(
            f"{self.transport.name}: writing {dest} failed {WRITE_ATTEMPTS} times: {'; '.join(reasons)}",
            hint="check the cable (a USB hub can corrupt transfers) and retry; reset the board if it persists")

    def _write_attempt(self, source: Source, dest: str, progress: Progress | None) -> str | None:
        """One START, data, END round; the failure reason, or None once the board confirmed the file."""
        start_packet = packets.encode_file_start(dest, source.size, source.crc)
        if self._out_of_step:
            self.sync()  # outside the try below: a board that stopped answering ends the write
        try:
            start = self.request(RequestType.START_FILE_TRANSFER, packet=start_packet, timeout=self.timeouts.start)
        except DeviceTimeoutError:
            return "the board did not answer the start of the transfer"
        if start.status is not Status.OK:
            if start.messages and start.messages[0].type == ResponseType.TEXT_ERROR:
                # Refused before it was accepted: the runtime is on, or the path is invalid (spec §7.1,
                # §7.2). Retrying cannot help; a failed open after ACCEPTED (INIT_DOWNLOAD_FAIL) can.
                raise DeviceRejectedError(f"{self.transport.name}: the board refused {dest}: {start.reason}")
            return start.reason
        try:
            failure = self._send_data(source, progress)
        except BaseException:  # the file could not be read on (or Ctrl-C): the download is still open
            self._out_of_step = True
            raise
        if failure is not None:
            # The board gave up on this download (watchdog or write error). The sync before the next
            # attempt sends END and waits for its reply, so nothing stays open.
            self._out_of_step = True
            return failure
        try:
            end = self.request(RequestType.END_FILE_TRANSFER, timeout=self.timeouts.end)
        except DeviceTimeoutError:
            return "the board did not confirm the file in time"
        if end.status is Status.OK:
            return None
        if end.saw(ResponseType.DNLD_FAIL_RESEND):
            return "the board's download watchdog fired (it stopped reading for more than 3 s) and asked to resend"
        return end.reason

    def _send_data(self, source: Source, progress: Progress | None) -> str | None:
        """Stream the data packets back to back; return a failure reason if the board gave up meanwhile."""
        seq, sent, batch = 0, 0, []
        for chunk in source.chunks(MAX_DATA_BYTES):
            seq = packets.next_seq(seq)
            batch.append(encode_frame(packets.encode_data(seq, chunk)))
            self.payload_sent += len(chunk)
            sent += len(chunk)
            if len(batch) >= PACKETS_PER_WRITE:
                failure = self._flush_data(batch, sent, source.size, progress)
                if failure:
                    return failure
        return self._flush_data(batch, sent, source.size, progress) if batch else None

    def _flush_data(self, batch: list[bytes], sent: int, total: int, progress: Progress | None) -> str | None:
        self._write(b"".join(batch))  # blocks while the board is not reading (bounded by the write timeout)
        batch.clear()
        if progress:
            progress(sent, total)
        return self._transfer_failure()

    def _transfer_failure(self) -> str | None:
        """Look (without waiting) for DNLD_FAIL_RESEND or an error sent during the transfer."""
        messages = self._receive(0)
        for index, message in enumerate(messages):
            reason = transfer_failure(message)
            if reason:
                self._backlog = messages[index + 1:] + self._backlog  # the END's grammar sorts them out
                return reason
        return None

    def read_file(self, path: str) -> bytes:
        """Read a file back from the board, verifying the CRC the board announces.

        Raises:
            DeviceRejectedError: no such file, or the bytes do not match the announced CRC/size.
        """
        init = self._checked(self.request(RequestType.UPLOAD_FILE_INIT, ascii_path(path)), f"reading {path}")
        okay = [m for m in init.messages if m.type == ResponseType.INIT_UPLOAD_OKAY]
        if not okay:
            raise DeviceRejectedError(f"{self.transport.name}: reading {path} failed: the board did not announce "
                                      "the file's size and CRC")
        try:
            info = packets.FileInfo.unpack(okay[-1].payload)
        except packets.PacketError as exc:
            raise DeviceRejectedError(f"{self.transport.name}: reading {path} failed: {exc}") from exc
        data_exchange = self._checked(self.request(RequestType.UPLOAD_START_DATA_SEND), f"reading {path}")
        data = b"".join(m.payload for m in data_exchange.messages if m.type == ResponseType.UPLOADING_FILE_DATA)
        if len(data) != info.size or nuttx_crc32(data) != info.crc:
            raise DeviceRejectedError(f"{self.transport.name}: {path} came back corrupted (CRC/size mismatch)",
                                      hint="retry; large reads are known to be unreliable on some OS versions")
        return data


def ascii_path(path: str) -> bytes:
    """A path as the board's protocol takes it (CLI v2 sends ASCII, spec §7.2).

    Raises:
        InputError: a name with other characters (the board cannot be asked about it).
    """
    try:
        return path.encode("ascii")
    except UnicodeEncodeError:
        raise InputError(f"{path!r}: not an ASCII path; the board's serial protocol takes ASCII names only",
                         hint="rename the file or folder") from None
