"""The Meadow device API over any Transport: one request at a time, bounded waits, explicit retries.

``request()`` is the only loop that waits for a request: it writes one framed request, feeds what
arrives to the frame decoder and the exchange grammar (which sets stale replies aside), and stops on
the reply that ends the request or at the deadline. After a failed, refused or timed-out request the
device is *out of step*: before anything else is sent, :meth:`MeadowDevice.sync` sends END +
GET_DEVICE_INFORMATION and discards everything up to that pair's replies (the board answers in
order, so all that came before is stale; the END closes any download left open). RECONNECT (the
board reboots) is followed by events, not sleeps: reopen as soon as the port is back, then wait for
the board's post-boot CONCLUDED, pinging only if it does not come. Timeouts and retry counts are
named constants below, each with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hatch_meadow.device_files import FileTransfers, ascii_path
from hatch_meadow.errors import DeviceRejectedError, DeviceTimeoutError, TransportError
from hatch_meadow.protocol import packets
from hatch_meadow.protocol.codes import CONSOLE, RequestType, ResponseType
from hatch_meadow.protocol.exchange import REBOOTING, Exchange, Status, SyncBarrier
from hatch_meadow.protocol.framing import FrameDecoder, encode_frame
from hatch_meadow.protocol.paths import MEADOW_ROOT
from hatch_meadow.protocol.text import FileEntry, parse_device_info, parse_file_line, runtime_enabled
from hatch_meadow.transport import Transport

log = logging.getLogger(__name__)

#: Most requests are answered in milliseconds; the vendor CLI allows 30 s (spec §12.1).
REQUEST_TIMEOUT_S: Final = 30.0
#: START waits for the board to delete and create the file; the CLI allows 30 s (spec §7.3).
START_TIMEOUT_S: Final = 30.0
#: END re-reads the file from flash to compute its CRC: size-dependent; this covers several MB.
END_TIMEOUT_S: Final = 60.0
#: After RECONNECT: the port must be back and the board answering within this (bounds the reopen poll).
BOOT_TIMEOUT_S: Final = 30.0
#: After reopening, how long to wait for the post-boot CONCLUDED before pinging instead (spec §5, §11.2).
POST_BOOT_WAIT_S: Final = 2.0
#: While pinging a board that may still be booting (pings sent then are lost), the ping is repeated this often.
PING_INTERVAL_S: Final = 0.5
#: A sync pair must be answered within this: the board's 3 s download watchdog plus a flash-busy stall.
SYNC_TIMEOUT_S: Final = 10.0
#: First contact: a port with no Meadow on it is reported after this long, not after 30 s.
ATTACH_TIMEOUT_S: Final = 5.0
# The file transfers (write_file, read_file) and their constants live in device_files.py.


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait, in seconds (the defaults are the module constants; tests shorten them)."""

    request: float = REQUEST_TIMEOUT_S
    start: float = START_TIMEOUT_S
    end: float = END_TIMEOUT_S
    boot: float = BOOT_TIMEOUT_S
    post_boot: float = POST_BOOT_WAIT_S
    ping_interval: float = PING_INTERVAL_S
    sync: float = SYNC_TIMEOUT_S
    attach: float = ATTACH_TIMEOUT_S


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


class MeadowDevice(FileTransfers):
    """A Meadow board behind a transport. Not thread-safe: one request at a time, by design."""

    def __init__(self, transport: Transport, *, timeouts: Timeouts | None = None) -> None:
        self.transport = transport
        self.timeouts = timeouts or Timeouts()
        self._decoder = FrameDecoder()
        self._backlog: list[packets.Message] = []
        self._out_of_step = False  # a request failed or timed out: sync before the next one
        self.bytes_sent = 0  # everything written to the wire, framing included
        self.payload_sent = 0  # file bytes inside data packets
        self.syncs = 0  # sync barriers run (a measure of how often the board fell out of step)
        self.stale = 0  # replies set aside as belonging to an earlier request
        self.boots = 0  # reboots seen (each ends with the port reopened)
        #: Called with every console message (app STDOUT/STDERR, trace, OS information) as it arrives.
        self.console: Callable[[packets.Message], None] | None = None

    # -- reading and writing -------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            self.transport.write(data)
        except TransportError:
            self._out_of_step = True  # part of a frame may be on the wire: sync before anything else
            raise
        self.bytes_sent += len(data)

    def _receive(self, timeout: float) -> list[packets.Message]:
        """Messages waiting in the backlog, else whatever arrives within ``timeout``."""
        if self._backlog:
            waiting, self._backlog = self._backlog, []
            return waiting
        messages = []
        for packet in self._decoder.feed(self.transport.read(max(timeout, 0.0))):
            try:
                message = packets.parse_packet(packet)
            except packets.PacketError:
                continue
            if isinstance(message, packets.Message):
                messages.append(message)
                if self.console is not None and message.type in CONSOLE:
                    self.console(message)
        return messages

    def follow(self, deadline: float, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Read the board's console until ``deadline`` or ``stop()``; sends nothing. A board that reboots
        meanwhile is waited for (its port reopened) within the deadline.

        Raises:
            TransportError: the port failed and did not come back before the deadline.
        """
        while not stop() and (remaining := deadline - time.monotonic()) > 0:
            try:
                self._receive(min(remaining, 0.25))
            except TransportError:
                self.transport.reopen(deadline)
                self._decoder = FrameDecoder()
                self.boots += 1

    def _pump(self, exchange: Exchange, deadline: float) -> None:
        while not exchange.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeoutError(
                    f"{self.transport.name}: no answer to {exchange.request.name} within the time allowed",
                    hint="unplug and re-plug the board, then retry")
            messages = self._receive(min(remaining, 0.25))
            for index, message in enumerate(messages):
                exchange.feed(message)
                if exchange.done:  # later messages of the same read belong to whatever comes next
                    self._backlog = messages[index + 1:] + self._backlog
                    break
        self.stale += exchange.stale.total
        for note in exchange.unsolicited:
            log.debug("device output: %s", note.text)

    # -- the request loop, resynchronisation and reboots -----------------------------------------

    def request(self, kind: RequestType, payload: bytes = b"", *, user_data: int = 0,
                timeout: float | None = None, packet: bytes | None = None) -> Exchange:
        """Send one request and collect its replies; follow a reboot when the request causes one.

        Raises:
            DeviceTimeoutError: no reply that ends the request in time (or the board out of step and
                not answering a sync). TransportError: the port failed.
        """
        if self._out_of_step:
            self.sync()
        rebooting = kind in REBOOTING
        if rebooting:
            self.transport.remember_identity()  # while the board is still on USB (its serial number)
        exchange = Exchange(kind)
        self._write(encode_frame(packet if packet is not None else packets.encode_request(
            kind, payload, user_data=user_data)))
        try:
            self._pump(exchange, time.monotonic() + (timeout if timeout is not None else self.timeouts.request))
        except DeviceTimeoutError:
            self._out_of_step = True
            raise
        except TransportError:
            if not rebooting:
                raise
            # The board dropped off USB before its RECONNECT reached us: that is the reboot we asked for.
            log.debug("%s: port lost while %s was pending; following the reboot", self.transport.name, kind.name)
            exchange.status = Status.RECONNECT
        if exchange.status is Status.RECONNECT:
            self._reconnect()
        elif exchange.status is Status.FAILED:
            self._out_of_step = True  # failures have tails (ERROR, CONCLUDED, ERROR…): sync before the next request
        return exchange

    def sync(self) -> DeviceInfo:
        """The resynchronisation barrier: END + GET_DEVICE_INFORMATION, discard all before their replies.

        Raises:
            DeviceTimeoutError: the board did not answer within ``Timeouts.sync``, naming the port.
        """
        self.syncs += 1
        self._write(encode_frame(packets.encode_request(RequestType.END_FILE_TRANSFER))
                    + encode_frame(packets.encode_request(RequestType.GET_DEVICE_INFORMATION)))
        barrier = self._await_barrier(SyncBarrier(), time.monotonic() + self.timeouts.sync)
        if not barrier.done:
            raise DeviceTimeoutError(
                f"{self.transport.name}: the board stopped answering (no reply to a sync request within "
                f"{self.timeouts.sync:.0f} s)", hint="unplug and re-plug the board, then retry")
        self._out_of_step = False
        return DeviceInfo(parse_device_info(barrier.info_text))

    def _await_barrier(self, barrier: SyncBarrier, deadline: float, *, ping_every: float | None = None) -> SyncBarrier:
        """Feed arriving messages to ``barrier`` until it completes or ``deadline``; optionally ping meanwhile."""
        next_ping = time.monotonic()
        pings = 0
        while not barrier.done:
            now = time.monotonic()
            if now >= deadline:
                break
            if ping_every is not None and now >= next_ping:
                self._write(encode_frame(packets.encode_request(RequestType.GET_DEVICE_INFORMATION)))
                pings += 1
                next_ping = now + ping_every
            wait = deadline - now if ping_every is None else min(deadline, next_ping) - now
            barrier.feed_all(self._receive(min(wait, 0.25)))
        self._backlog = barrier.after + self._backlog
        self.stale += barrier.discarded.total
        if pings > 1:
            self._out_of_step = True  # replies to the extra pings may still come: sync before the next request
        return barrier

    def attach(self) -> DeviceInfo:
        """First contact: close a download a killed host may have left open, ping until the board answers.

        Raises:
            DeviceTimeoutError: nothing answered within ``Timeouts.attach`` ("no Meadow answered on PORT").
        """
        self._write(encode_frame(packets.encode_request(RequestType.END_FILE_TRANSFER)))
        barrier = self._await_barrier(SyncBarrier(after_end=False), time.monotonic() + self.timeouts.attach,
                                      ping_every=self.timeouts.ping_interval)
        if not barrier.done:
            self._out_of_step = True
            raise DeviceTimeoutError(
                f"{self.transport.name}: no Meadow answered on this port within {self.timeouts.attach:.0f} s",
                hint="is this the board's port (`hatch-meadow devices`)? unplug and re-plug the board; close the "
                "Meadow CLI or an IDE that may be using it")
        if self._out_of_step:
            return self.sync()
        return DeviceInfo(parse_device_info(barrier.info_text))

    def _reconnect(self) -> None:
        """The board reboots: reopen as soon as its port is back, then wait for it to answer (bounded)."""
        log.debug("%s: board restarting", self.transport.name)
        deadline = time.monotonic() + self.timeouts.boot
        self.boots += 1
        while True:
            self.transport.reopen(deadline)
            self._decoder = FrameDecoder()
            self._backlog.clear()
            try:
                self._await_boot(deadline)
                return
            except TransportError:
                # We reopened the old port just before the board dropped off USB: poll again.
                if time.monotonic() >= deadline:
                    raise

    def _await_boot(self, deadline: float) -> None:
        """Wait for the post-boot CONCLUDED (spec §5, §11.2); without it, ping until the board answers."""
        quiet_until = min(deadline, time.monotonic() + self.timeouts.post_boot)
        while (now := time.monotonic()) < quiet_until:
            messages = self._receive(min(quiet_until - now, 0.25))
            for index, message in enumerate(messages):
                if message.type == ResponseType.TEXT_CONCLUDED:
                    self._backlog = messages[index + 1:]
                    return
        log.debug("%s: no post-boot CONCLUDED within %.1f s; pinging", self.transport.name, self.timeouts.post_boot)
        barrier = self._await_barrier(SyncBarrier(after_end=False), deadline, ping_every=self.timeouts.ping_interval)
        if not barrier.done:
            self._out_of_step = True
            raise DeviceTimeoutError(f"{self.transport.name}: the board did not answer after restarting "
                                     f"(waited {self.timeouts.boot:.0f} s)",
                                     hint="unplug and re-plug the board, then retry")
        # A post-boot CONCLUDED that still comes later is stale for every request's grammar.

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
        exchange = self._checked(self.request(kind, ascii_path(folder)), f"listing {folder}")
        lines = [m.text for m in exchange.messages
                 if m.type in (ResponseType.TEXT_LIST_MEMBER, ResponseType.TEXT_CRC_MEMBER)]
        return [entry for entry in map(parse_file_line, lines) if entry is not None]

    def delete_file(self, path: str) -> None:
        """Delete one file."""
        self._checked(self.request(RequestType.DELETE_FILE_BY_NAME, packet=packets.encode_delete(path)),
                      f"deleting {path}")

    def close(self) -> None:
        """Close the transport."""
        with contextlib.suppress(TransportError):
            self.transport.close()
