"""The device side of HCOM as a pure, sans-I/O state machine (spec §15).

``SimulatedMeadow.receive(data, now)`` takes bytes from the host in any chunking and returns the
framed bytes the board sends back; ``tick(now)`` lets time pass (the 3 s download watchdog of §7.5,
the end of a simulated reboot). The caller owns the clock and the transport: ``PtyBoard`` and the
``sim://`` pyserial handler feed it, tests call it directly with made-up ``now`` values.

Reboots and the post-boot CONCLUDED (§5, §11.2): the real OS sends CONCLUDED "on its first
connection after the reboot", i.e. when the host reopens the re-enumerated USB port. The transports
in front of the simulator (``PtyBoard``, ``sim://``) make the port vanish during the reboot and tell
the board when the host opens it again (``host_opened``); the board then sends its CONCLUDED
``boot_concluded_delay_s`` later (0.2 s by default), **not** in front of a reply, so a client that
answers its own ping first sees the CONCLUDED late. ``boot_concluded_delay_s=None`` restores the
older behaviour (in front of the reply to the first request), for transports that cannot tell.

The worst cases the spec allows are switchable in :class:`Faults` (§5, §7, §15): a board that stops
reading for a while after data packet N while its 3 s watchdog keeps running (so it asks for a resend
while the host's END still waits in the pipe), a CONCLUDED after every error reply, STDOUT lines and
lone 0x00 bytes before a share of the replies, replies split into 1..N-byte writes, latency, dropped
and corrupted data packets, transient INIT failures. Randomness comes from ``seed``.

Choices where the spec is silent (marked "sim:" below) are kept simple and stated where they are made.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final

from hatch_meadow.protocol.codes import (
    DEVICE_WATCHDOG_S,
    MAX_PACKET_BYTES,
    RequestType,
    ResponseType,
)
from hatch_meadow.protocol.framing import FrameDecoder, encode_frame
from hatch_meadow.protocol.packets import DataPacket, Message, PacketError, parse_packet
from hatch_meadow.testing.board_files import FileOperations
from hatch_meadow.testing.board_info import InfoOperations
from hatch_meadow.testing.download import Download, DownloadOperations
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.replies import error, info, reply
from hatch_meadow.testing.sim_app import AppModel, AppRun, start_app

__all__ = ["Faults", "SimulatedMeadow"]

logger = logging.getLogger(__name__)

#: Firmware accepts header versions ≥ 7; 6 gets a warning, below 6 is refused (spec §3).
MIN_VERSION_ACCEPTED: Final = 7
MIN_VERSION_TOLERATED: Final = 6
#: How long a simulated reboot lasts (a real board takes a second or two; tests pass shorter values).
DEFAULT_REBOOT_S: Final = 1.5
#: The post-boot CONCLUDED follows the host's reopen by this much (the OS sends it on first connection).
DEFAULT_BOOT_CONCLUDED_DELAY_S: Final = 0.2
#: 12 hex characters, like a real SerialNo (spec §11.1).
DEFAULT_SERIAL_NUMBER: Final = "3A1F0C2B7D45"
DEFAULT_DEVICE_NAME: Final = "MeadowF7"
DEFAULT_OS_VERSION: Final = "2.0.1.0"

class SimulatedMeadow(FileOperations, DownloadOperations, InfoOperations):
    """A Meadow F7 board speaking HCOM, without I/O (spec §15).

    State is plain attributes so tests can set it up and inspect it: ``files`` (full paths such as
    ``/meadow0/App.dll`` → content), ``esp_store`` (credential name → exact bytes, §10.2),
    ``runtime_enabled``, ``serial_number``, ``reboots``, ``bytes_received`` (every wire byte handed
    to ``receive``), ``faults`` and ``faults_fired``.
    """

    def __init__(
        self,
        *,
        serial_number: str = DEFAULT_SERIAL_NUMBER,
        runtime_enabled: bool = False,
        reboot_s: float = DEFAULT_REBOOT_S,
        device_name: str = DEFAULT_DEVICE_NAME,
        os_version: str = DEFAULT_OS_VERSION,
        files: Mapping[str, bytes] | None = None,
        faults: Faults | None = None,
        boot_concluded_delay_s: float | None = DEFAULT_BOOT_CONCLUDED_DELAY_S,
        watchdog_s: float = DEVICE_WATCHDOG_S,
        seed: int = 0,
        app: AppModel | None = None,
    ) -> None:
        self.serial_number = serial_number
        self.runtime_enabled = runtime_enabled
        self.reboot_s = reboot_s
        self.boot_concluded_delay_s = boot_concluded_delay_s
        self.watchdog_s = watchdog_s
        self.rng = random.Random(seed)
        self.device_name = device_name
        self.os_version = os_version
        self.files: dict[str, bytes] = dict(files or {})
        self.esp_store: dict[str, bytes] = {}
        self.faults = faults or Faults()
        self.faults_fired: Counter[str] = Counter()
        self.reboots = 0
        #: RECONNECTs sent: a transport compares it with what it saw to notice a reboot begin.
        self.reboots_started = 0
        #: START requests per resolved path (each one an attempt).
        self.starts: Counter[str] = Counter()
        self.host_attached = False
        self.bytes_received = 0
        #: Data packets received during downloads, over the board's whole life.
        self.data_packets = 0
        #: Frames dropped because they were too big or not HCOM (§1, §2); FrameDecoder counts bad COBS.
        self.frames_dropped = 0
        self._decoder = FrameDecoder()
        self._download: Download | None = None
        self._upload: str | None = None
        self._reboot_until: float | None = None
        self._owe_boot_concluded = False
        self._boot_concluded_at: float | None = None
        self._stalled = False
        self._paused_until = 0.0
        self._held_packets: list[bytes] = []  # read before a pause began, handled when it ends
        self._unread = bytearray()  # handed to us during a pause: still "in the pipe"
        self._replies_sent = 0
        #: The app that starts after a boot with the runtime enabled and credentials stored (None: no app).
        self.app = app
        self._app_run: AppRun | None = None
        self._app_starts_now = app is not None and runtime_enabled  # powered on with the app running
        self._app_awaits_host = False  # rebooted with the app enabled: it starts when the host reopens
        self._said: list[tuple[ResponseType, str]] = []  # console lines queued by say()
        #: Every console line the app printed, with its kind (for tests).
        self.console: list[tuple[ResponseType, str]] = []
        self._handlers: dict[int, Callable[[Message, float], list[Message]]] = {
            RequestType.START_FILE_TRANSFER: self._on_start,
            RequestType.END_FILE_TRANSFER: self._on_end,
            RequestType.LIST_FILES_SUBDIR: self._on_list,
            RequestType.LIST_FILES_SUBDIR_CRC: self._on_list,
            RequestType.DELETE_FILE_BY_NAME: self._on_delete,
            RequestType.UPLOAD_FILE_INIT: self._on_upload_init,
            RequestType.UPLOAD_START_DATA_SEND: self._on_upload_start,
            RequestType.GET_INITIAL_FILE_BYTES: self._on_initial_bytes,
            RequestType.GET_DEVICE_INFORMATION: self._on_device_info,
            RequestType.GET_DEVICE_NAME: self._on_device_name,
            RequestType.MONO_RUN_STATE: self._on_run_state,
            RequestType.MONO_DISABLE: self._on_mono_switch,
            RequestType.MONO_ENABLE: self._on_mono_switch,
            RequestType.RESTART_PRIMARY_MCU: self._on_restart,
            # Plain ACCEPTED + CONCLUDED requests (spec §4).
            RequestType.CHANGE_TRACE_LEVEL: self._on_acknowledge,
            RequestType.ENABLE_DISABLE_NSH: self._on_acknowledge,
            RequestType.NO_TRACE_TO_HOST: self._on_acknowledge,
            RequestType.SEND_TRACE_TO_HOST: self._on_acknowledge,
            RequestType.RTC_SET_TIME_CMD: self._on_acknowledge,
            RequestType.UPLOAD_ABORT_DATA_SEND: self._on_acknowledge,
        }

    # -- state a transport or test may ask about -------------------------------------------------

    @property
    def rebooting(self) -> bool:
        """True between RECONNECT and the end of the simulated reboot."""
        return self._reboot_until is not None

    @property
    def stalled(self) -> bool:
        """True while the ``stall_after_packets`` hang lasts; transports should stop reading."""
        return self._stalled

    @property
    def download_active(self) -> bool:
        """True between INIT_DOWNLOAD_OKAY and END (or the watchdog)."""
        return self._download is not None

    def reading(self, now: float) -> bool:
        """False while the board takes no input (hung, or paused by ``pause_after_packet``): transports
        should stop reading, so the host's writes back up."""
        return not self._stalled and now >= self._paused_until

    def next_event_at(self) -> float | None:
        """When ``tick`` next has something to do (watchdog, reboot end, pause end, post-boot CONCLUDED)."""
        times = [t for t in (self._reboot_until, self._boot_concluded_at,
                             self._app_run.next_at() if self._app_run else None) if t is not None]
        if self._said or self._app_starts_now:
            times.append(0.0)
        if self._download is not None and not self._stalled:
            times.append(self._download.deadline)
        if self._paused_until > 0.0:
            times.append(self._paused_until)
        return min(times, default=None)

    def host_opened(self, now: float) -> None:
        """The host opened the port: after a host-initiated reboot, the post-boot CONCLUDED is due."""
        self.host_attached = True
        if self._app_awaits_host and self.app is not None and self._reboot_until is None:
            # sim: a real app needs seconds to start, far longer than the host takes to reopen the port,
            # so its clock starts at that reopen (output with no host listening would be lost).
            self._app_awaits_host = False
            self._app_run = start_app(self.app, self.esp_store, now)
        if self._owe_boot_concluded and self.boot_concluded_delay_s is not None and self._reboot_until is None:
            self._owe_boot_concluded = False
            self._boot_concluded_at = now + self.boot_concluded_delay_s

    def host_closed(self, now: float) -> None:
        """The host closed the port."""
        self.host_attached = False

    def say(self, text: str, kind: ResponseType = ResponseType.TEXT_MONO_STDOUT) -> None:
        """Queue one console line from the app (sent on the next tick), as a test's stand-in for app output."""
        self._said.append((kind, text))

    def unstall(self) -> None:
        """End a ``stall_after_packets`` hang. An overdue download watchdog fires on the next tick."""
        self._stalled = False
        self._decoder = FrameDecoder()

    # -- the sans-I/O interface -------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> bytes:
        """Take bytes from the host (any chunking); return the framed bytes the board sends back."""
        self.bytes_received += len(data)
        replies = self._advance(now)
        if self.faults.silent or self._stalled or self._reboot_until is not None:
            return self._encode(replies)  # a hung, rebooting or silent board reads nothing
        if now < self._paused_until:
            self._unread += data  # not read yet: it waits in the pipe until the pause ends
            return self._encode(replies)
        replies += self._consume(self._decoder.feed(data), now)
        return self._encode(replies)

    def tick(self, now: float) -> bytes:
        """Let time pass; return what the board sends on its own (DNLD_FAIL_RESEND, the post-boot CONCLUDED)."""
        return self._encode(self._advance(now))

    # -- internals ----------------------------------------------------------------------------------

    def _consume(self, packets: list[bytes], now: float) -> list[Message]:
        replies: list[Message] = []
        for index, packet in enumerate(packets):
            if self._stalled:
                break  # the hang began inside this chunk: the rest is never read
            if now < self._paused_until:
                self._held_packets += packets[index:]  # the pause began inside this chunk
                break
            replies += self._handle(packet, now)
        return replies

    def _advance(self, now: float) -> list[Message]:
        replies: list[Message] = []
        if self._reboot_until is not None and now >= self._reboot_until:
            self._finish_reboot(now)
        download = self._download
        if download is not None and not self._stalled and now > download.deadline:
            replies += self._abort_download(download)
        if self._boot_concluded_at is not None and now >= self._boot_concluded_at:
            self._boot_concluded_at = None
            replies.append(reply(ResponseType.TEXT_CONCLUDED))
        if self._app_starts_now and self.app is not None and self._reboot_until is None:
            self._app_starts_now = False
            self._app_run = start_app(self.app, self.esp_store, now)
        if self._reboot_until is None:
            for kind, text in self._said:
                self.console.append((kind, text))
                replies.append(Message(type=kind, payload=text.encode()))
            self._said.clear()
        if self._app_run is not None and self._reboot_until is None:
            for kind, text in self._app_run.due(now):
                self.console.append((kind, text))
                replies.append(Message(type=kind, payload=text.encode()))
        if self._paused_until > 0.0 and now >= self._paused_until:
            self._paused_until = 0.0
            held, self._held_packets = self._held_packets, []
            unread, self._unread = bytes(self._unread), bytearray()
            replies += self._consume(held, now)
            if self._paused_until == 0.0:
                replies += self._consume(self._decoder.feed(unread), now)
            else:
                self._unread[:0] = unread  # paused again: still unread
        return replies

    def _encode(self, messages: list[Message]) -> bytes:
        """Frame every message (spec §2); add the noise the faults ask for (spec §5, §16)."""
        if self.faults.silent:
            return b""
        faults = self.faults
        wire = bytearray()
        for message in messages:
            self._replies_sent += 1
            every = faults.unsolicited_every
            if (every > 0 and self._replies_sent % every == 0) or (
                    faults.stdout_share > 0 and self.rng.random() < faults.stdout_share):
                line = f"App: heartbeat {self._replies_sent}".encode()
                wire += encode_frame(Message(type=ResponseType.TEXT_MONO_STDOUT, payload=line).encode())
            if faults.info_share > 0 and self.rng.random() < faults.info_share:
                wire += encode_frame(info(f"Meadow OS: housekeeping {self._replies_sent}").encode())
            if faults.zero_share > 0 and self.rng.random() < faults.zero_share:
                wire += b"\x00"
            wire += encode_frame(message.encode())
            if faults.concluded_after_error and message.type in (ResponseType.TEXT_ERROR,
                                                                  ResponseType.DNLD_FAIL_RESEND):
                self._fire("concluded_after_error")
                wire += encode_frame(reply(ResponseType.TEXT_CONCLUDED).encode())
        return bytes(wire)

    def split_size(self) -> int:
        """How many reply bytes the transport should write next under ``split_replies`` (1..N, seeded)."""
        return self.rng.randint(1, max(1, self.faults.split_max_bytes))

    def _fire(self, fault: str) -> None:
        self.faults_fired[fault] += 1
        logger.debug("simulated fault %s fired", fault)

    def _handle(self, packet: bytes, now: float) -> list[Message]:
        if len(packet) > MAX_PACKET_BYTES:
            self.frames_dropped += 1  # "message too big" (spec §1)
            return []
        try:
            parsed = parse_packet(packet)
        except PacketError:
            self.frames_dropped += 1
            return []
        if isinstance(parsed, DataPacket):
            return self._on_data(parsed, now)
        if self._download is not None and parsed.type != RequestType.END_FILE_TRANSFER:
            return []  # one download at a time; every other command is dropped silently (spec §7.1)
        replies: list[Message] = []
        if self._owe_boot_concluded and self.boot_concluded_delay_s is None:
            # The post-boot CONCLUDED in front of the first reply (the legacy mode, module docstring).
            self._owe_boot_concluded = False
            replies.append(reply(ResponseType.TEXT_CONCLUDED))
        if parsed.version < MIN_VERSION_TOLERATED:
            return [*replies, error(f"Meadow is expecting a different CLI Protocol version, got {parsed.version}"),
                    reply(ResponseType.TEXT_CONCLUDED)]
        if parsed.version < MIN_VERSION_ACCEPTED:
            replies.append(info(f"Meadow is expecting a different CLI Protocol version, got {parsed.version}"))
        handler = self._handlers.get(parsed.type, self._on_unknown)
        return replies + handler(parsed, now)

    def power_cycle(self) -> None:
        """Power off and on (after a ``dead_…`` fault, or any time): faults cleared, whatever download was open
        dropped, credentials imported at boot as after any restart (spec §10.2)."""
        self.faults = Faults()
        self._reboot_until = None
        self._stalled = False
        self._finish_reboot(0.0)

    # -- runtime switch and reboots (spec §10.2, §11) ---------------------------------------------------

    def _on_mono_switch(self, request: Message, now: float) -> list[Message]:
        # sim: the flag flips at once; nobody can ask before the reboot ends, so that is unobservable.
        self.runtime_enabled = request.type == RequestType.MONO_ENABLE
        state = "enabled" if self.runtime_enabled else "disabled"
        return [reply(ResponseType.TEXT_ACCEPTED), info(f"Mono has been {state}. Restarting F7 Micro"),
                *self._reconnect(request, now)]

    def _on_restart(self, request: Message, now: float) -> list[Message]:
        return [reply(ResponseType.TEXT_ACCEPTED), *self._reconnect(request, now)]

    def _reconnect(self, request: Message, now: float) -> list[Message]:
        """RECONNECT and the reboot; with ``drop_reconnect`` the RECONNECT never leaves the board."""
        message = self._begin_reboot(request, now)
        if self.faults.drop_reconnect:
            self._fire("drop_reconnect")
            return []
        return [message]

    def _begin_reboot(self, request: Message, now: float) -> Message:
        """RECONNECT echoes the request's UserData (spec §11.3); input is ignored until the reboot ends."""
        self._reboot_until = now + self.reboot_s
        self._app_run = None  # the app dies with the reboot
        self._app_awaits_host = False
        self.reboots_started += 1
        self.host_attached = False  # the USB connection goes down with the reboot
        self._decoder = FrameDecoder()
        self._boot_concluded_at = None
        self._paused_until = 0.0
        self._held_packets.clear()
        self._unread.clear()
        return reply(ResponseType.TEXT_RECONNECT, user_data=request.user_data)

    def _finish_reboot(self, now: float) -> None:
        self._reboot_until = None
        self.reboots += 1
        self._decoder = FrameDecoder()
        self._download = None
        self._upload = None
        self._migrate_credentials()
        self._app_awaits_host = self.app is not None and self.runtime_enabled
        self._owe_boot_concluded = True  # the reboot was host-initiated (spec §5)
        if self.host_attached:  # a transport that kept the port open: the connection is already there
            self.host_opened(now)
