"""The serial transport: the only module that talks to pyserial's port objects.

Any port name or pyserial URL works (``/dev/ttyACM0``, ``COM5``, ``loop://``, and ``sim://`` for the
built-in simulated Meadow). Errors are translated here, once, into the DeviceError family.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from typing import TYPE_CHECKING, Final, Protocol

from hatch_meadow.errors import InputError, PortNotFoundError, TransportError

if TYPE_CHECKING:
    from serial import SerialBase

log = logging.getLogger(__name__)

#: USB back-pressure can stall writes while the board writes flash; the CLI allows 5 s (spec §1).
WRITE_TIMEOUT_S: Final = 10.0
#: After RECONNECT the board re-enumerates; the vendor CLI waits 3 s before reopening (spec §11.2).
REOPEN_DELAY_S: Final = 3.0
#: How long to keep trying to reopen a port that has not come back yet.
REOPEN_TIMEOUT_S: Final = 30.0


class Transport(Protocol):
    """What the device layer needs from a byte pipe."""

    name: str
    reopen_delay_s: float

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes: ...  # b"" once the timeout has passed

    def close(self) -> None: ...

    def reopen(self) -> None: ...


def _register_sim(port: str) -> None:
    if port.startswith("sim://"):
        from hatch_meadow.testing.protocol_sim import register_sim_url

        register_sim_url()


class SerialTransport:
    """A pyserial port, opened the way the vendor CLI opens it (DTR/RTS low, baud ignored by CDC-ACM)."""

    def __init__(self, port: str, *, reopen_delay_s: float | None = None) -> None:
        self.name = port
        # The simulated board reboots in a blink; a real one needs the vendor's 3 s.
        self.reopen_delay_s = reopen_delay_s if reopen_delay_s is not None else (
            0.05 if port.startswith("sim://") else REOPEN_DELAY_S)
        self._serial = self._open()

    def _open(self) -> SerialBase:
        import serial

        _register_sim(self.name)
        try:
            port = serial.serial_for_url(self.name, do_not_open=True, timeout=0, write_timeout=WRITE_TIMEOUT_S)
            port.dtr = False
            port.rts = False
            port.open()
        except serial.SerialException as exc:
            raise _translate(self.name, exc) from exc
        except (ValueError, KeyError) as exc:  # unknown URL scheme or bad URL parameters: a usage error
            raise InputError(f"{self.name}: not a usable port name or pyserial URL ({exc})",
                             hint="run `hatch-meadow devices`, or use sim:// for the simulated board") from exc
        port.reset_input_buffer()
        log.debug("opened %s", self.name)
        return port

    def write(self, data: bytes) -> None:
        """Write all of ``data``; a stall longer than WRITE_TIMEOUT_S is an error."""
        import serial

        try:
            # No flush(): it is tcdrain() without a timeout; write_timeout already bounds the write.
            written = self._serial.write(data)
        except serial.SerialTimeoutException as exc:
            raise TransportError(f"{self.name}: the board stopped taking data (write timed out after "
                                 f"{WRITE_TIMEOUT_S:.0f} s)", hint="unplug and re-plug the board, then retry") from exc
        except (serial.SerialException, OSError) as exc:
            raise _translate(self.name, exc) from exc
        if written is not None and written != len(data):
            raise TransportError(f"{self.name}: only {written} of {len(data)} bytes were written")

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` seconds (at least one byte, or b"" at the timeout)."""
        import serial

        try:
            self._serial.timeout = max(timeout, 0.0)
            first = self._serial.read(1)
            if not first:
                return b""
            waiting = int(getattr(self._serial, "in_waiting", 0))  # every pyserial port class has it
            return bytes(first) + (bytes(self._serial.read(waiting)) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise _translate(self.name, exc) from exc

    def close(self) -> None:
        """Close the port (idempotent)."""
        with contextlib.suppress(OSError):
            self._serial.close()

    def reopen(self) -> None:
        """Close, wait for the board to re-enumerate, and reopen the same port (bounded)."""
        self.close()
        time.sleep(self.reopen_delay_s)
        deadline = time.monotonic() + REOPEN_TIMEOUT_S
        while True:
            try:
                self._serial = self._open()
                return
            except (PortNotFoundError, TransportError):  # not back yet, or udev still fixing permissions
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)


def _translate(port: str, exc: Exception) -> Exception:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "No such file" in text or ("could not open port" in text and "FileNotFound" in text):
        return PortNotFoundError(f"{port}: no such port", hint="is the board plugged in? `hatch-meadow devices` "
                                 "lists Meadow boards")
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text or "Access is denied" in text:
        return TransportError(f"{port}: permission denied", hint="on Linux add yourself to the 'dialout' group "
                              "(sudo usermod -aG dialout $USER, then log in again); close other programs using "
                              "the port")
    if code == errno.EBUSY or "busy" in text.lower():
        return TransportError(f"{port}: the port is busy", hint="close the Meadow CLI, an IDE or another "
                              "terminal using it")
    return TransportError(f"{port}: {text}", hint="check the cable; unplug and re-plug the board")
