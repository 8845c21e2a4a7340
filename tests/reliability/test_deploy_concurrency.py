"""Two programs on one port, and a record that follows the board (issue #10 F6, F9; #17 item 1).

Pairs: ``HATCH_MEADOW_PAIRS=100 python -m pytest tests/reliability/test_deploy_concurrency.py -q -s``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.deploy import deploy, load_credential_set
from hatch_meadow.device import MeadowDevice
from hatch_meadow.errors import InputError
from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow
from hatch_meadow.transport import SerialTransport

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
PAIRS = int(os.environ.get("HATCH_MEADOW_PAIRS", "8"))


def _set(folder: Path, device_id: str) -> Path:
    generate_credentials(folder, device_id=device_id, key_type="ec-p256")
    return folder


def _deploy_cmd(creds: Path, port: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "hatch_meadow", "deploy", "--dir", str(creds), "--port", port, "--json", *extra]


def test_two_deploys_on_one_port_never_both_run(tmp_path: Path) -> None:
    """F9: started together, one deploy holds the port; the other exits 3 at once naming the holder, or runs
    after it. Never both fail, never a traceback, and the board ends with the set."""
    creds = _set(tmp_path / "creds", "dev-001")
    local = {name: (creds / name).read_bytes() for name in CREDENTIAL_FILES}
    refused = both_ok = 0
    for _ in range(PAIRS):
        board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.2)
        with PtyBoard(board) as pty:
            procs = [subprocess.Popen(_deploy_cmd(creds, pty.port, "--force"), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
            runs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        codes = sorted(code for code, _, _ in runs)
        assert codes in ([0, 0], [0, 3]), runs
        for code, _out, err in runs:
            assert "Traceback" not in err
            if code == 3:
                assert "in use by another hatch-meadow (pid " in err, err
                refused += 1
        both_ok += codes == [0, 0]
        assert board.esp_store == local
        assert board.runtime_enabled is True
    print(f"\nport lock: {PAIRS} pairs of simultaneous deploys: one refused at once {refused}, ran one after the "
          f"other {both_ok}, both failed 0, double writers 0")
    assert refused > 0


def test_a_port_another_program_has_open_is_refused_with_its_pid(tmp_path: Path) -> None:
    creds = _set(tmp_path / "creds", "dev-001")
    board = SimulatedMeadow()
    with PtyBoard(board) as pty:
        holder = subprocess.Popen([sys.executable, "-c", "import os, sys, time\n"
                                   f"fd = os.open({pty.port!r}, os.O_RDWR | os.O_NOCTTY)\nprint('open', flush=True)\n"
                                   "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "open"
            started = time.monotonic()
            run = subprocess.run(_deploy_cmd(creds, pty.port), capture_output=True, text=True, timeout=60, check=False)
            took = time.monotonic() - started
        finally:
            holder.kill()
            holder.communicate()
    assert run.returncode == 3, run.stderr
    assert "in use by another program (python" in run.stderr
    assert f"pid {holder.pid})" in run.stderr
    assert "Traceback" not in run.stderr
    assert took < 10
    assert board.bytes_received == 0  # not a byte was written to a port someone else holds
    assert board.esp_store == {}


def test_record_follows_the_board_not_the_folder(tmp_path: Path) -> None:
    """F6: set A, then set B from another folder to the same board, then A again: A is sent, not skipped."""
    set_a = _set(tmp_path / "a" / "creds", "dev-a")
    set_b = _set(tmp_path / "b" / "creds", "dev-b")
    board = SimulatedMeadow(reboot_s=0.1)
    with PtyBoard(board) as pty:
        outcomes = []
        for creds, cwd in ((set_a, tmp_path / "a"), (set_b, tmp_path / "b"), (set_a, tmp_path / "a")):
            run = subprocess.run(_deploy_cmd(creds, pty.port), cwd=cwd, capture_output=True, text=True, timeout=120,
                                 check=False)
            assert run.returncode == 0, run.stderr
            outcomes.append(json.loads(run.stdout)["credentials"])
            assert board.esp_store == {name: (creds / name).read_bytes() for name in CREDENTIAL_FILES}
        again = subprocess.run(_deploy_cmd(set_a, pty.port), cwd=tmp_path, capture_output=True, text=True,
                               timeout=120, check=False)
    assert outcomes == ["sent", "sent", "sent"]
    assert json.loads(again.stdout)["credentials"] == "skipped"  # from yet another folder: the board has A
    assert not (tmp_path / "a" / ".hatch-meadow").exists()
    assert not (set_a / ".hatch-meadow").exists()


def test_extra_files_may_not_replace_the_credentials(tmp_path: Path) -> None:
    """#17 item 1: an extra deploy file named like a credential file is refused before the port is touched."""
    creds = _set(tmp_path / "creds", "dev-001")
    board = SimulatedMeadow()
    with PtyBoard(board) as pty:
        device = MeadowDevice(SerialTransport(pty.port))
        try:
            with pytest.raises(InputError, match="credential file's name"):
                deploy(device, load_credential_set(creds), extra_files={"private_key.pem": b"evil"})
        finally:
            device.close()
    assert board.bytes_received == 0
