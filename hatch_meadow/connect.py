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


#: pyserial URL schemes that stay on this machine; every other scheme (socket://, rfc2217://, spy://…) may
#: carry the private key and passphrase over a network in cleartext.
LOCAL_SCHEMES = ("sim://", "loop://")


def check_port_locality(name: str, *, allow_network: bool) -> str:
    """The port to open: a local device, ``sim://``/``loop://``, or the one port ``hwgrep://REGEX`` matches.

    Raises:
        InputError: a network URL without ``allow_network``, or an hwgrep that matches no port or several.
    """
    lowered = name.lower()
    if lowered.startswith("hwgrep://"):
        from serial.tools import list_ports

        matches = sorted(p.device for p in list_ports.grep(name[len("hwgrep://"):]))
        if len(matches) != 1:
            raise InputError(f"{name}: matches {len(matches)} ports ({', '.join(matches) or 'none'}), not exactly one",
                             hint="name the port itself (`hatch-meadow devices` lists Meadow boards)")
        return matches[0]
    if "://" in name and not lowered.startswith(LOCAL_SCHEMES) and not allow_network:
        raise InputError(f"{name}: a network port; a credential deploy would send the private key and its "
                         "passphrase across the network in cleartext", hint="use the board's USB serial port, or "
                         "pass --allow-network-port if you trust every hop (e.g. an SSH-tunnelled socket)")
    return name


def open_device(port: str, *, timeouts: Timeouts | None = None, allow_network: bool = False) -> MeadowDevice:
    """Resolve ``auto``, check the name, and open the port (nothing is sent yet).

    Raises:
        InputError: a name that cannot be a port, or a network port without ``allow_network``.
        PortNotFoundError / TransportError: opening failed.
    """
    from hatch_meadow.device import MeadowDevice
    from hatch_meadow.ports import resolve_port
    from hatch_meadow.transport import SerialTransport

    name = check_port_locality(resolve_port(port), allow_network=allow_network)
    check_port_name(name)
    if name.startswith(SIM_SCHEME):
        from hatch_meadow.testing.protocol_sim import register_sim_url

        register_sim_url()
    return MeadowDevice(SerialTransport(name), timeouts=timeouts)
