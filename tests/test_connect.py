"""Opening the board: port names checked the same way for the hook and every command (exit 2 for names
that cannot be a port, exit 3 for a port where no Meadow answers), through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_meadow.connect import check_port_name
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.errors import InputError
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow


@pytest.fixture(name="creds")
def _creds(tmp_path: Path) -> Path:
    folder = tmp_path / "creds"
    generate_credentials(folder, device_id="dev-001", key_type="ec-p256")
    return folder


def run_deploy(creds: Path, port: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", "deploy", "--dir", str(creds), "--port", port],
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("port", "message"), [
    ("sim:/", "did you mean sim://?"),
    ("sim:", "did you mean sim://?"),
    ("SIM:/board2", "did you mean sim://board2?"),
    ("/dev/null", "not a serial port"),
])
def test_names_that_cannot_be_a_port_exit_2(port: str, message: str, creds: Path, tmp_path: Path) -> None:
    """A near miss of sim://, or a device that is not a tty: a clear usage error, no traceback."""
    proc = run_deploy(creds, port, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_files_and_folders_are_not_ports(tmp_path: Path) -> None:
    """A regular file, a folder, a FIFO: refused by name before anything is opened (a FIFO would hang)."""
    regular = tmp_path / "notes.txt"
    regular.write_text("x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in ((regular, "regular file"), (tmp_path, "folder"), (fifo, "FIFO")):
        with pytest.raises(InputError, match=f"not a serial port \\(it is a {kind}\\)"):
            check_port_name(str(path))
    with pytest.raises(InputError, match="control characters"):
        check_port_name("/dev/ttyACM0\x1b[2J")
    check_port_name(str(tmp_path / "not-there-yet"))  # missing ports are the transport's to report
    check_port_name("sim://board-2")
    check_port_name("loop://")


def test_port_where_no_meadow_answers_fails_within_seconds(creds: Path, tmp_path: Path) -> None:
    """A silent port: "no Meadow answered on PORT" within a few seconds (not after 30 s), exit 3."""
    with PtyBoard(SimulatedMeadow(faults=Faults(silent=True))) as board:
        started = time.monotonic()
        proc = run_deploy(creds, board.port, tmp_path)
        seconds = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr
    assert "no Meadow answered on this port within 5 s" in proc.stderr
    assert seconds < 15


def test_sim_url_is_registered_on_demand(creds: Path, tmp_path: Path) -> None:
    """The transport knows nothing of sim://; opening through connect registers it, so the CLI deploys there."""
    proc = run_deploy(creds, "sim://connect-test?reboot=0.2", tmp_path)
    assert proc.returncode == 0, proc.stderr
