"""pyserial URL handler ``sim://``: an in-process simulated Meadow behind the ``serial`` API.

``register_sim_url()`` appends this package to ``serial.protocol_handler_packages``; pyserial then
resolves ``serial.serial_for_url("sim://name?serial=ABC123&runtime=enabled&reboot=0.05")`` to this
module's ``Serial``. Options: ``serial`` (SerialNo), ``runtime`` (``enabled``/``disabled``, default
disabled), ``reboot`` (simulated reboot seconds). They apply when the named board is first created.

Boards live in a module-level registry keyed by name (the URL's netloc; ``sim://`` is "default"),
so files, the ESP32 store and the runtime flag survive close and reopen, as a real board survives the
host reopening its port after RECONNECT (spec §11.2). ``board_for()`` lets tests inspect them.

Writes go straight into the board; replies wait in a per-board input buffer that ``open()`` clears
(pyserial's POSIX ``open`` flushes input too). While the board is not reading (stall or pause
faults), written bytes wait unread and, past ``STALL_BUFFER_BYTES``, writes block until
``write_timeout`` like USB back-pressure (spec §1). With the ``split_replies`` fault, ``read`` and
``in_waiting`` hand out 1..N bytes at a time, as a port that returns short reads.

Like a USB device, the board drops off during a reboot: after a RECONNECT, the open port object
fails once its buffered replies are read ("device disconnected"), and ``open()`` fails with "no
such file" until the reboot is over. The board is told when the host opens the port, so its
post-boot CONCLUDED comes a moment after the reopen (spec §5, §11.2).
"""

from __future__ import annotations

import errno
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException, SerialTimeoutException

from hatch_meadow.testing.sim_app import AppModel
from hatch_meadow.testing.simulator import SimulatedMeadow

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SCHEME: Final = "sim"
#: The package pyserial searches for ``protocol_sim`` (this module's package).
HANDLER_PACKAGE: Final = __name__.rpartition(".")[0]
DEFAULT_BOARD_NAME: Final = "default"
#: Longest single wait inside read/write: bounds tick latency and reaction to cancel/unstall.
POLL_S: Final = 0.01
#: Host bytes a stalled board holds before writes block (about a pty's or a USB pipe's buffer).
STALL_BUFFER_BYTES: Final = 65536
_OPTIONS: Final = ("serial", "runtime", "reboot", "app")


@dataclass
class _Slot:
    """One named board and the byte queues between it and whichever port object has it open."""

    board: SimulatedMeadow
    changed: threading.Condition = field(default_factory=threading.Condition)
    to_host: bytearray = field(default_factory=bytearray)
    held: bytearray = field(default_factory=bytearray)  # host bytes a stalled board has not read

    def pump(self, now: float) -> None:
        """Deliver held bytes once the board reads again, and let its clock run. Call with ``changed`` held."""
        if self.held and self.board.reading(now):
            data = bytes(self.held)
            self.held.clear()
            self.to_host += self.board.receive(data, now)
        self.to_host += self.board.tick(now)


_REGISTRY: dict[str, _Slot] = {}
_REGISTRY_LOCK: Final = threading.Lock()


def register_sim_url() -> None:
    """Make ``serial.serial_for_url("sim://…")`` open a simulated board. Idempotent."""
    if HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(HANDLER_PACKAGE)


def parse_sim_url(url: str) -> tuple[str, SimulatedMeadow]:
    """The board name of a ``sim://`` URL (or a bare name) and a fresh board built from its options.

    Raises:
        ValueError: not a sim:// URL, or an unknown or bad option (a usage error, not a device one).
    """
    if "://" not in url:
        return url or DEFAULT_BOARD_NAME, SimulatedMeadow()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != SCHEME:
        raise ValueError("expected a sim://[name][?serial=…&runtime=enabled|disabled&reboot=S&app=on|off] URL, "
                         f"not {url!r}")
    name = parts.netloc or DEFAULT_BOARD_NAME
    board = SimulatedMeadow(serial_number=_serial_for(name), app=AppModel())
    for option, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        value = values[-1]
        if option == "serial":
            board.serial_number = value
        elif option == "runtime" and value in ("enabled", "disabled"):
            board.runtime_enabled = value == "enabled"
        elif option == "reboot":
            try:
                board.reboot_s = float(value)
            except ValueError:
                raise ValueError(f"{url}: reboot must be a number of seconds, not {value!r}") from None
            if board.reboot_s < 0:
                raise ValueError(f"{url}: reboot must not be negative")
        elif option == "app" and value in ("on", "off"):
            board.app = AppModel() if value == "on" else None
        elif option == "app":
            raise ValueError(f"{url}: app must be 'on' or 'off', not {value!r}")
        elif option == "runtime":
            raise ValueError(f"{url}: runtime must be 'enabled' or 'disabled', not {value!r}")
        else:
            raise ValueError(f"{url}: unknown option {option!r} (known: {', '.join(_OPTIONS)})")
    return name, board


def _serial_for(name: str) -> str:
    """Each named board gets its own 12-hex-digit serial number (the default board keeps the default one)."""
    if name == DEFAULT_BOARD_NAME:
        return SimulatedMeadow().serial_number
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:12].upper()


def _slot_for(url_or_name: str) -> _Slot:
    name, fresh = parse_sim_url(url_or_name)
    with _REGISTRY_LOCK:
        slot = _REGISTRY.get(name)
        if slot is None:
            slot = _REGISTRY[name] = _Slot(fresh)
        return slot


def board_for(url_or_name: str) -> SimulatedMeadow:
    """The board behind ``sim://name`` (or plain ``name``), created from the URL's options if new."""
    return _slot_for(url_or_name).board


def forget_board(url_or_name: str) -> None:
    """Drop a board from the registry, so the next open starts from a fresh one."""
    name, _ = parse_sim_url(url_or_name)
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)


class Serial(SerialBase):
    """A pyserial port object talking to a registry board; settings (baud, parity…) are accepted and ignored."""

    # Class-level defaults: SerialBase.__init__ may call open() before any __init__ of ours would run.
    _slot: _Slot | None = None
    _epoch: int = 0  # the board's reboot count when this port object opened it
    _cancel_read: bool = False
    _cancel_write: bool = False

    def open(self) -> None:
        """Attach to the named board (creating it on first use) and drop stale input."""
        if self.is_open:
            raise SerialException("Port is already open.")
        if self.port is None:
            raise SerialException("Port must be configured before it can be used.")
        self.from_url(self.port)
        slot = self._slot
        assert slot is not None
        with slot.changed:
            now = time.monotonic()
            slot.pump(now)
            if slot.board.rebooting:
                raise SerialException(errno.ENOENT, f"could not open port {self.port}: [Errno 2] No such file or "
                                      "directory (the simulated board is restarting)")
            self._epoch = slot.board.reboots_started
            slot.to_host.clear()
            slot.board.host_opened(now)
        self._reconfigure_port()
        self.is_open = True

    def from_url(self, url: str) -> None:
        """Look the board up by the URL's name. Raises SerialException for a bad URL."""
        self._slot = _slot_for(url)

    def close(self) -> None:
        """Detach from the board; the board and its state stay in the registry."""
        if self.is_open:
            self.is_open = False
            if self._slot is not None:
                with self._slot.changed:
                    if self._slot.board.reboots_started == self._epoch:
                        self._slot.board.host_closed(time.monotonic())
                    self._slot.changed.notify_all()

    def _reconfigure_port(self) -> None:
        """Nothing to configure: CDC-ACM ignores line settings (spec §1)."""

    def _update_dtr_state(self) -> None:
        """DTR is accepted and ignored (the board's sensitivity to it is unconfirmed, spec §1)."""

    def _update_rts_state(self) -> None:
        """RTS is accepted and ignored."""

    def _update_break_state(self) -> None:
        """Break is accepted and ignored."""

    def _require_slot(self) -> _Slot:
        if not self.is_open or self._slot is None:
            raise PortNotOpenError()
        return self._slot

    def _available(self, slot: _Slot) -> int:
        split = slot.board.faults.split_replies
        return min(len(slot.to_host), slot.board.split_size()) if split else len(slot.to_host)

    def _check_connected(self, slot: _Slot) -> None:
        """After a reboot began, this connection is gone once its buffered replies are read."""
        if slot.board.reboots_started != self._epoch and not slot.to_host:
            raise SerialException("device reports readiness to read but returned no data "
                                  "(device disconnected or multiple access on port?)")

    @property
    def in_waiting(self) -> int:
        """Reply bytes ready to read."""
        slot = self._require_slot()
        with slot.changed:
            slot.pump(time.monotonic())
            return self._available(slot)

    @property
    def out_waiting(self) -> int:
        """Host bytes a stalled board has not read yet."""
        slot = self._require_slot()
        with slot.changed:
            return len(slot.held)

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes: blocks until ``size`` bytes or ``timeout`` (None: forever, 0: no wait).

        Under ``split_replies`` it returns as soon as any bytes are there, at most 7 at a time.
        """
        slot = self._require_slot()
        timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._cancel_read = False
        with slot.changed:
            while True:
                now = time.monotonic()
                slot.pump(now)
                self._check_connected(slot)
                ready = self._available(slot)
                split = slot.board.faults.split_replies
                if ready >= size or (split and ready) or self._cancel_read or not self.is_open:
                    break
                if deadline is not None and now >= deadline:
                    break
                wait = POLL_S
                if deadline is not None:
                    wait = min(wait, deadline - now)
                event_at = slot.board.next_event_at()
                if event_at is not None:
                    wait = min(wait, max(event_at - now, 0.0))
                slot.changed.wait(wait)
            count = min(size, self._available(slot))
            data = bytes(slot.to_host[:count])
            del slot.to_host[:count]
            return data

    def write(self, data: ReadableBuffer, /) -> int:
        """Hand ``data`` to the board; blocks (up to ``write_timeout``) only while a stalled board's buffer is full.

        Raises:
            SerialTimeoutException: the stalled board did not read within ``write_timeout``.
        """
        slot = self._require_slot()
        payload = bytes(data)
        timeout = self.write_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._cancel_write = False
        with slot.changed:
            while True:
                now = time.monotonic()
                slot.pump(now)
                self._check_connected(slot)
                if slot.board.reading(now) and not slot.held:
                    slot.to_host += slot.board.receive(payload, now)
                    break
                if len(slot.held) + len(payload) <= STALL_BUFFER_BYTES:
                    slot.held += payload
                    break
                if self._cancel_write or not self.is_open:
                    return 0
                if deadline is not None and now >= deadline:
                    raise SerialTimeoutException("Write timeout")
                slot.changed.wait(POLL_S if deadline is None else min(POLL_S, deadline - now))
            slot.changed.notify_all()
        return len(payload)

    def reset_input_buffer(self) -> None:
        """Drop every reply not read yet."""
        slot = self._require_slot()
        with slot.changed:
            slot.pump(time.monotonic())
            slot.to_host.clear()

    def reset_output_buffer(self) -> None:
        """Drop host bytes a stalled board has not read."""
        slot = self._require_slot()
        with slot.changed:
            slot.held.clear()

    def cancel_read(self) -> None:
        """Make a blocked ``read`` return what it has."""
        self._cancel_read = True
        if self._slot is not None:
            with self._slot.changed:
                self._slot.changed.notify_all()

    def cancel_write(self) -> None:
        """Make a ``write`` blocked on a stalled board return."""
        self._cancel_write = True
        if self._slot is not None:
            with self._slot.changed:
                self._slot.changed.notify_all()

    @property
    def cts(self) -> bool:
        """Clear To Send: always."""
        self._require_slot()
        return True

    @property
    def dsr(self) -> bool:
        """Data Set Ready: always."""
        self._require_slot()
        return True

    @property
    def ri(self) -> bool:
        """Ring Indicator: never."""
        self._require_slot()
        return False

    @property
    def cd(self) -> bool:
        """Carrier Detect: always."""
        self._require_slot()
        return True
