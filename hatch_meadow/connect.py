"""Opening the board: the one place that turns a port setting into a :class:`MeadowDevice`.

The build hook and every CLI command that talks to a board come through here, so a port name is
checked the same way everywhere: ``auto`` resolved to the only Meadow, a mistyped ``sim:/`` caught
before pyserial sees it, a file that is not a serial port refused as bad input (exit 2), and the
built-in simulated board (``sim://``) registered only when it is asked for.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from hatch_meadow.errors import InputError

if TYPE_CHECKING:
    from hatch_meadow.device import MeadowDevice, Timeouts

SIM_SCHEME = "sim://"


def check_port_name(name: str) -> None:
    """Refuse port names that cannot be a board, before any port is opened.

    Raises:
        InputError: a near miss of ``sim://``, a control character, or an existing path that is not a
            character device.
    """
    if any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise InputError(f"{name!r}: a port name cannot contain control characters",
                         hint="run `hatch-meadow devices` to list Meadow boards")
    lowered = name.lower()
    if lowered.startswith("sim:") and not name.startswith(SIM_SCHEME):
        rest = name[4:].lstrip("/")
        raise InputError(f"{name!r} is not a port name; did you mean {SIM_SCHEME}{rest}?",
                         hint="the built-in simulated board is sim:// (or sim://NAME for another one)")
    if "://" in name:
        return
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return  # not there (yet): the transport reports a missing port with its own hint
    if not stat.S_ISCHR(mode):
        kind = "folder" if stat.S_ISDIR(mode) else "FIFO" if stat.S_ISFIFO(mode) else "regular file"
        raise InputError(f"{name}: not a serial port (it is a {kind})",
                         hint="run `hatch-meadow devices` to list Meadow boards, or use --port sim://")


def open_device(port: str, *, timeouts: Timeouts | None = None) -> MeadowDevice:
    """Resolve ``auto``, check the name, and open the port (nothing is sent yet).

    Raises:
        InputError: a name that cannot be a port. PortNotFoundError / TransportError: opening failed.
    """
    from hatch_meadow.device import MeadowDevice
    from hatch_meadow.ports import resolve_port
    from hatch_meadow.transport import SerialTransport

    name = resolve_port(port)
    check_port_name(name)
    if name.startswith(SIM_SCHEME):
        from hatch_meadow.testing.protocol_sim import register_sim_url

        register_sim_url()
    return MeadowDevice(SerialTransport(name), timeouts=timeouts)
