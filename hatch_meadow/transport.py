"""The serial transport: the only module that talks to pyserial's port objects.

Any port name or pyserial URL works (``/dev/ttyACM0``, ``COM5``, ``loop://``; ``sim://`` once
``hatch_meadow.connect`` or a test has registered the simulated board). Errors are translated here,
once, into the DeviceError family.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, Protocol

from hatch_meadow.errors import InputError, PortNotFoundError, TransportError

if TYPE_CHECKING:
    from serial import SerialBase

log = logging.getLogger(__name__)

#: USB back-pressure can stall writes while the board writes flash; the CLI allows 5 s (spec §1).
WRITE_TIMEOUT_S: Final = 10.0
#: After RECONNECT the port is polled this often until it is back (the vendor CLI sleeps 3 s instead).
REOPEN_POLL_S: Final = 0.05
#: Before polling, wait at most this long for the old port to vanish, so we do not reopen the
#: port of a board that has not reset yet (a path that never vanishes costs this once per reboot).
VANISH_WAIT_S: Final = 0.5


class Transport(Protocol):
    """What the device layer needs from a byte pipe."""

    name: str

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes: ...  # b"" once the timeout has passed

    def close(self) -> None: ...

    def reopen(self, deadline: float) -> None: ...  # close, then poll until the port opens again

    def remember_identity(self) -> None: ...  # before a reboot: note what identifies the port (USB serial)


class SerialTransport:
    """A pyserial port, opened the way the vendor CLI opens it (DTR/RTS low, baud ignored by CDC-ACM).

    A device path is ours alone from the first open to ``close()``, reboots included: a lock file per
    port in this machine's state folder (held across the reopen after each reboot) keeps a second
    hatch-meadow away, and the port itself is opened exclusively (``flock``; Windows ports are exclusive
    anyway) after checking that no other program has it open. Either refusal names the holder's pid.
    """

    def __init__(self, port: str, *, write_timeout: float = WRITE_TIMEOUT_S) -> None:
        self.name = port
        self.write_timeout = write_timeout
        #: Where the port is now: ``name`` unless the board came back under another path (same USB serial).
        self.path = port
        self._usb_serial: str | None = None
        self._usb_serial_known = False
        self._serial: SerialBase | None = None
        self._lock = contextlib.ExitStack()
        if _is_device_path(port):
            self._lock.enter_context(_port_lock(port))
        try:
            self._serial = self._open()
            if _is_device_path(port):
                _refuse_if_open_elsewhere(port)  # after the open: a name that is no serial port fails there
        except BaseException:
            self.close()
            raise

    def _open(self) -> SerialBase:
        import serial

        try:
            port = serial.serial_for_url(self.path, do_not_open=True, timeout=0, write_timeout=self.write_timeout)
            if _is_device_path(self.path) and os.name == "posix":
                port.exclusive = True
            port.dtr = False
            port.rts = False
            port.open()
        except (serial.SerialException, OSError) as exc:
            raise _translate(self.name, exc) from exc
        except (ValueError, KeyError) as exc:  # unknown URL scheme or bad URL parameters: a usage error
            raise InputError(f"{self.name}: not a usable port name or pyserial URL ({exc})",
                             hint="run `hatch-meadow devices`, or use sim:// for the simulated board") from exc
        try:
            port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            with contextlib.suppress(Exception):
                port.close()
            raise _translate(self.name, exc) from exc
        log.debug("opened %s", self.path)
        return port

    def _port(self) -> SerialBase:
        if self._serial is None:
            raise TransportError(f"{self.name}: the port is closed", hint="unplug and re-plug the board, then retry")
        return self._serial

    def write(self, data: bytes) -> None:
        """Write all of ``data``; a stall longer than the write timeout (the board not reading) is an error."""
        import serial

        try:
            # No flush(): it is tcdrain() without a timeout; write_timeout already bounds the write.
            written = self._port().write(data)
        except serial.SerialTimeoutException as exc:
            raise TransportError(f"{self.name}: the board stopped taking data (write timed out after "
                                 f"{self.write_timeout:g} s)", hint="unplug and re-plug the board, then retry") from exc
        except (serial.SerialException, OSError) as exc:
            raise _translate(self.name, exc) from exc
        if written is not None and written != len(data):
            raise TransportError(f"{self.name}: only {written} of {len(data)} bytes were written")

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` seconds (at least one byte, or b"" at the timeout)."""
        import serial

        port = self._port()
        try:
            port.timeout = max(timeout, 0.0)
            first = port.read(1)
            if not first:
                return b""
            waiting = int(getattr(port, "in_waiting", 0))  # every pyserial port class has it
            return bytes(first) + (bytes(port.read(waiting)) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise _translate(self.name, exc) from exc

    def close(self) -> None:
        """Close the port and let other programs have it (idempotent)."""
        self._close_port()
        self._lock.close()

    def _close_port(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def reopen(self, deadline: float) -> None:
        """Close, then poll until the rebooted board's port opens again (no fixed sleep).

        The same path is tried every ``REOPEN_POLL_S``; if it stays away and the board was found by
        its USB serial number before, a port with that serial number is taken instead (the OS may
        enumerate the board under a new name).

        Raises:
            PortNotFoundError: the port did not come back before ``deadline`` (a monotonic time).
        """
        usb_serial = self._remember_usb_serial()
        self._close_port()  # the port lock stays ours while the board reboots
        _wait_until_gone(self.path, min(deadline, time.monotonic() + VANISH_WAIT_S))
        last: Exception | None = None
        while True:
            try:
                self._serial = self._open()
                return
            except (PortNotFoundError, TransportError) as exc:  # not back yet, or udev still fixing permissions
                last = exc
            moved = _port_with_serial(usb_serial) if usb_serial and isinstance(last, PortNotFoundError) else None
            if moved is not None and moved != self.path:
                log.debug("%s: the board came back as %s", self.name, moved)
                self.path = moved
                continue
            if time.monotonic() >= deadline:
                raise PortNotFoundError(f"{self.name}: the board restarted but its port did not come back ({last})",
                                        hint="unplug and re-plug the board, then retry") from last
            time.sleep(REOPEN_POLL_S)

    def remember_identity(self) -> None:
        """Note the port's USB serial number while the board is still on USB (before asking it to reboot)."""
        self._remember_usb_serial()

    def _remember_usb_serial(self) -> str | None:
        """The USB serial number of the port we have open (looked up once; None for URLs and non-USB ports)."""
        if not self._usb_serial_known:
            self._usb_serial_known = True
            if "://" not in self.path:
                from hatch_meadow.ports import find_meadow_ports

                with contextlib.suppress(Exception):  # enumeration is best effort: the path is tried anyway
                    here = os.path.realpath(self.path)
                    for info in find_meadow_ports():
                        if info.serial_number and os.path.realpath(info.port) == here:
                            self._usb_serial = info.serial_number
        return self._usb_serial


def _node_identity(path: str) -> tuple[int, int, int] | None:
    """What the path points at now (device, inode, rdev), or None if it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_rdev


def _wait_until_gone(path: str, until: float) -> None:
    """Give the old device node a moment to disappear or be replaced (a URL or a name like COM5 returns at once)."""
    if "://" in path:
        return
    before = _node_identity(path)
    while before is not None and _node_identity(path) == before and time.monotonic() < until:
        time.sleep(REOPEN_POLL_S / 5)


def _port_with_serial(usb_serial: str) -> str | None:
    from hatch_meadow.ports import find_meadow_ports

    try:
        found = [p.port for p in find_meadow_ports() if p.serial_number == usb_serial]
    except Exception:  # noqa: BLE001 - enumeration is best effort
        return None
    return found[0] if found else None


def _is_device_path(port: str) -> bool:
    """A serial device (``/dev/ttyACM0``, ``COM5``), not a pyserial URL such as ``sim://`` or ``loop://``."""
    return "://" not in port


@contextlib.contextmanager
def _port_lock(port: str) -> Iterator[None]:
    """Our locks on ``port`` for the block.

    Raises:
        TransportError: another hatch-meadow holds one.
    """
    from hatch_meadow.locking import Locked, exclusive
    from hatch_meadow.userstate import port_lock_paths

    with contextlib.ExitStack() as held:
        try:
            for path in port_lock_paths(port):
                held.enter_context(exclusive(path))
        except Locked as exc:
            who = f" (pid {exc.pid})" if exc.pid else ""
            raise TransportError(f"{port}: in use by another hatch-meadow{who}; two programs talking to one board "
                                 "at once would corrupt each other's transfers", hint="wait for it to finish (or "
                                 "stop it), then run this again") from None
        except OSError as exc:  # no state folder: the exclusive open still guards the port itself
            log.debug("no port lock for %s: %s", port, exc)
        yield


def _refuse_if_open_elsewhere(port: str) -> None:
    """Refuse a port another program has open (Linux: found in /proc; elsewhere the exclusive open decides).

    Raises:
        TransportError: naming the other program and its pid.
    """
    holder = port_holder(port)
    if holder is not None:
        raise _in_use(port, holder)


def port_holder(port: str) -> tuple[int, str] | None:
    """(pid, program name) of another process that has ``port`` open, if this system can tell (Linux /proc)."""
    proc = "/proc"
    if not os.path.isdir(f"{proc}/self/fd"):
        return None
    try:
        target = os.stat(port)
    except OSError:
        return None
    me = os.getpid()
    for entry in os.scandir(proc):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = os.scandir(f"{proc}/{entry.name}/fd")
        except OSError:
            continue  # gone, or another user's: not ours to see
        with fds:
            for fd in fds:
                try:
                    found = os.stat(fd.path)
                except OSError:
                    continue
                if found.st_rdev == target.st_rdev and found.st_ino == target.st_ino and found.st_dev == target.st_dev:
                    return int(entry.name), _program_name(f"{proc}/{entry.name}")
    return None


def _program_name(folder: str) -> str:
    try:
        with open(f"{folder}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip() or "?"
    except OSError:
        return "?"


def _in_use(port: str, holder: tuple[int, str] | None) -> TransportError:
    who = f" ({holder[1]}, pid {holder[0]})" if holder else ""
    return TransportError(f"{port}: in use by another program{who}; two programs talking to one board at once would "
                          "corrupt each other's transfers", hint="close the Meadow CLI (`meadow listen`), an IDE or "
                          "terminal using the port, then run this again")


def _translate(port: str, exc: Exception) -> Exception:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if "exclusively lock" in text:
        return _in_use(port, port_holder(port))
    if code == errno.ENOENT or "No such file" in text or ("could not open port" in text and "FileNotFound" in text):
        return PortNotFoundError(f"{port}: no such port", hint="is the board plugged in? `hatch-meadow devices` "
                                 "lists Meadow boards")
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text or "Access is denied" in text:
        return TransportError(f"{port}: permission denied", hint="on Linux add yourself to the 'dialout' group "
                              "(sudo usermod -aG dialout $USER, then log in again); close other programs using "
                              "the port")
    if code == errno.ENOTTY or "Inappropriate ioctl" in text:
        return InputError(f"{port}: not a serial port (it does not take serial settings)",
                          hint="run `hatch-meadow devices` to list Meadow boards, or use --port sim://")
    if code == errno.EBUSY or "busy" in text.lower():
        return TransportError(f"{port}: the port is busy", hint="close the Meadow CLI, an IDE or another "
                              "terminal using it")
    return TransportError(f"{port}: {text}", hint="check the cable; unplug and re-plug the board")
