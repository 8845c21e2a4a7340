"""``fleet deploy``: give every attached Meadow its own identity from the fleet folder and deploy it.

Each board is attached first to read its serial number; its identity is then the device whose
``serial_number`` (from the CSV) is that serial, else the one already recorded for that board, else the
next unassigned one. The choice is written to the manifest *before* anything is sent, so no identity is
ever written to two boards (a board that fails half-way gets the same identity on the next try). The
deploy itself is the normal one (checked set, this machine's record, skip when the board has it, proof
of import). Boards are served in parallel, one thread per port; ``watch`` waits for boards to be plugged
in (the factory-line mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal

from hatch_meadow.errors import EXIT_USAGE, InputError, MeadowError
from hatch_meadow.fleet.manifest import Entry, read_fleet, write_outputs

Status = Literal["deployed", "unchanged", "failed"]
#: A port must be gone this many polls in a row before a board on it counts as unplugged (a rebooting board
#: drops off USB for a moment).
ABSENT_POLLS: Final = 3
POLL_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class BoardOutcome:
    """What happened on one port (one status line, one JSON object)."""

    port: str
    status: Status
    serial: str | None = None
    device_id: str | None = None
    message: str | None = None
    exit_code: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "status": self.status, "serial": self.serial, "device_id": self.device_id,
                "message": self.message, "exit_code": self.exit_code, "seconds": round(self.seconds, 3)}


class Assignments:
    """The manifest's board ↔ identity map, changed one board at a time and saved at once (thread-safe)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.info, self.entries = read_fleet(out)
        self._lock = threading.Lock()
        self._busy: dict[str, str] = {}  # board serial → the port it is being provisioned on

    def claim(self, serial: str, port: str) -> Entry:
        """The identity for board ``serial`` (recorded as assigned to it before returning).

        Raises:
            InputError: the serial is being provisioned on another port, maps to an unusable device, or
                maps to no device and every unassigned identity is taken.
        """
        key = serial.upper()
        with self._lock:
            if key in self._busy:
                raise InputError(f"board {serial} is also attached on {self._busy[key]}: two boards report the same "
                                 "serial number", hint="provision one of them at a time and check their serials")
            index = self._choose(serial, key)
            entry = self.entries[index]
            if entry.deployed_to is None:
                self.entries[index] = entry.replace(deployed_to=serial)
                self._save()
            self._busy[key] = port
            return self.entries[index]

    def _choose(self, serial: str, key: str) -> int:
        for index, entry in enumerate(self.entries):
            if (entry.deployed_to or "").upper() == key:
                return index
        for index, entry in enumerate(self.entries):
            if (entry.serial_number or "").upper() == key:
                if entry.state not in ("issued", "kept"):
                    raise InputError(f"board {serial} is device {entry.device_id}, whose credentials are not usable "
                                     f"({entry.state}: {entry.problem or 'no certificate yet'})",
                                     hint="fix it with `fleet issue` (or `fleet import-certs`), then deploy again")
                if entry.deployed_to is not None:
                    raise InputError(f"device {entry.device_id} (serial {serial} in the list) is already on board "
                                     f"{entry.deployed_to}", hint="check the serial numbers in the device list")
                return index
        for index, entry in enumerate(self.entries):
            if entry.serial_number is None and entry.deployed_to is None and entry.state in ("issued", "kept"):
                return index
        raise InputError(f"board {serial} maps to no device: its serial is not in the list and every unassigned "
                         "identity is taken", hint="add a row for it (or more devices) and run `fleet issue`")

    def finish(self, serial: str, *, deployed: bool) -> None:
        """The board is done (``deployed``: record when)."""
        key = serial.upper()
        with self._lock:
            self._busy.pop(key, None)
            if not deployed:
                return
            for index, entry in enumerate(self.entries):
                if (entry.deployed_to or "").upper() == key:
                    self.entries[index] = entry.replace(deployed_at=datetime.now(timezone.utc).isoformat(
                        timespec="seconds"))
                    self._save()
                    return

    def _save(self) -> None:
        write_outputs(self.out, self.info, self.entries)


@dataclass
class FleetDeploy:
    """One ``fleet deploy`` run: its outcomes in the order the boards finished."""

    out: Path
    outcomes: list[BoardOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all well; else the worst board's code (2 a mapping problem outranks 3 a device failure)."""
        codes = {o.exit_code for o in self.outcomes}
        return EXIT_USAGE if EXIT_USAGE in codes else max(codes, default=0)

    @property
    def provisioned(self) -> set[str]:
        return {o.serial for o in self.outcomes if o.status != "failed" and o.serial}


Report = Callable[[BoardOutcome], None]


def provision_board(port: str, assignments: Assignments, *, force: bool = False,
                    open_device: Callable[[str], Any] | None = None) -> BoardOutcome:
    """Attach on ``port``, pick the board's identity, deploy it. Never raises a user-fixable error: the
    outcome carries it (a bug still propagates)."""
    from hatch_meadow.connect import open_device as open_port
    from hatch_meadow.deploy import deploy, load_credential_set
    from hatch_meadow.deploy_record import DeployRecord

    opener = open_device or open_port
    started = time.monotonic()
    serial: str | None = None
    entry: Entry | None = None
    claimed = False
    try:
        device = opener(port)
        try:
            board = device.attach()
            serial = board.serial_number
            entry = assignments.claim(serial, port)
            claimed = True
            creds = load_credential_set(assignments.out / entry.folder, device_id=entry.device_id)
            result = deploy(device, creds, record=DeployRecord.load(), force=force, board=board)
        finally:
            device.close()
    except MeadowError as exc:
        if claimed and serial is not None:
            assignments.finish(serial, deployed=False)
        return BoardOutcome(port, "failed", serial, entry.device_id if entry else None, exc.message, exc.exit_code,
                            time.monotonic() - started)
    assignments.finish(serial, deployed=True)
    status: Status = "unchanged" if result.credentials == "skipped" else "deployed"
    return BoardOutcome(port, status, serial, entry.device_id, None, 0, time.monotonic() - started)


def deploy_fleet(out: Path, ports: Iterable[str], *, force: bool = False, report: Report | None = None,
                 open_device: Callable[[str], Any] | None = None) -> FleetDeploy:
    """Provision the boards on ``ports`` in parallel (one thread per port).

    Raises:
        InputError: no manifest, no port, or another run busy in ``out``.
    """
    from hatch_meadow.creds.files import writer_lock

    ports = list(dict.fromkeys(ports))
    if not ports:
        raise InputError("no Meadow board found (no serial port with USB vendor id 0x2E6A)",
                         hint="plug the boards in, pass --port for each, or use --watch to wait for them")
    run = FleetDeploy(out)
    with writer_lock(out):
        assignments = Assignments(out)
        with ThreadPoolExecutor(max_workers=len(ports), thread_name_prefix="fleet-deploy") as pool:
            futures = [pool.submit(provision_board, port, assignments, force=force, open_device=open_device)
                       for port in ports]
            for future in futures:
                outcome = future.result()
                run.outcomes.append(outcome)
                if report is not None:
                    report(outcome)
    return run


def watch_fleet(out: Path, discover: Callable[[], Iterable[str]], *, count: int | None, timeout: float | None,
                force: bool = False, report: Report | None = None, open_device: Callable[[str], Any] | None = None,
                poll: float = POLL_S) -> FleetDeploy:
    """Factory-line mode: provision each board as it is plugged in, until ``count`` boards are provisioned or
    ``timeout`` seconds have passed (one of them is required). A board stays done while its port is present;
    a port that disappears (the board was unplugged) and comes back is a new board.

    Raises:
        InputError: neither ``count`` nor ``timeout``; no manifest; another run busy in ``out``.
    """
    from hatch_meadow.creds.files import writer_lock

    if count is None and timeout is None:
        raise InputError("--watch needs --count N or --timeout S (else it would never end)",
                         hint="e.g. --watch --count 20, or --watch --timeout 3600")
    run = FleetDeploy(out)
    deadline = None if timeout is None else time.monotonic() + timeout
    handled: dict[str, int] = {}  # port → consecutive polls it was absent (0 while present)
    running: dict[str, Future[BoardOutcome]] = {}
    with writer_lock(out), ThreadPoolExecutor(max_workers=16, thread_name_prefix="fleet-watch") as pool:
        assignments = Assignments(out)
        while True:
            for port, future in list(running.items()):
                if future.done():
                    del running[port]
                    handled[port] = 0
                    outcome = future.result()
                    run.outcomes.append(outcome)
                    if report is not None:
                        report(outcome)
            if count is not None and len(run.provisioned) >= count and not running:
                break
            if deadline is not None and time.monotonic() >= deadline:
                for future in running.values():  # let the boards in progress finish; start no new one
                    outcome = future.result()
                    run.outcomes.append(outcome)
                    if report is not None:
                        report(outcome)
                break
            present = set(discover())
            for port in list(handled):
                if port in present:
                    handled[port] = 0
                else:
                    handled[port] += 1
                    if handled[port] >= ABSENT_POLLS:
                        del handled[port]  # unplugged: a board that appears there next is a new one
            if count is None or len(run.provisioned) + len(running) < count:
                for port in sorted(present - set(handled) - set(running)):
                    running[port] = pool.submit(provision_board, port, assignments, force=force,
                                                open_device=open_device)
            time.sleep(poll)
    return run
