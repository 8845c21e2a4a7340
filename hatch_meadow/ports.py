"""Find Meadow boards among the serial ports (USB VID 0x2E6A, spec §12.2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Final

from hatch_meadow.errors import PortNotFoundError

#: Wilderness Labs' USB vendor id.
MEADOW_VID: Final = 0x2E6A


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One Meadow serial port."""

    port: str
    product: str | None
    serial_number: str | None
    description: str | None = None
    vid: int | None = None
    pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def find_meadow_ports(ports: Iterable[Any] | None = None) -> list[PortInfo]:
    """Serial ports whose USB vendor id is Wilderness Labs'. ``ports`` defaults to the system's."""
    if ports is None:
        from serial.tools import list_ports

        ports = list_ports.comports()
    found = [
        PortInfo(port=p.device, product=p.product, serial_number=p.serial_number, description=p.description,
                 vid=p.vid, pid=p.pid)
        for p in ports if getattr(p, "vid", None) == MEADOW_VID
    ]
    return sorted(found, key=lambda p: p.port)


def resolve_port(port: str, ports: Iterable[Any] | None = None) -> str:
    """``auto`` → the only Meadow port; anything else is returned as given (a name or pyserial URL).

    Raises:
        PortNotFoundError: ``auto`` with no Meadow, or with several (listed).
    """
    if port != "auto":
        return port
    found = find_meadow_ports(ports)
    if not found:
        raise PortNotFoundError("no Meadow board found (no serial port with USB vendor id 0x2E6A)",
                                hint="plug the board in with a data cable, or pass --port; use --port sim:// for "
                                "the built-in simulated board")
    if len(found) > 1:
        listed = ", ".join(f"{p.port} ({p.serial_number or 'no serial'})" for p in found)
        raise PortNotFoundError(f"{len(found)} Meadow boards found: {listed}",
                                hint="pass --port (or HATCH_MEADOW_PORT) to pick one")
    return found[0].port
