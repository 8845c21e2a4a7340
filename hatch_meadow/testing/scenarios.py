"""Issue #8's two scenarios, as a user meets them: `hatch-meadow deploy` in a subprocess against a simulated
board on a pty that stalls 4 s after data packet 1, or sits on a noisy link. Run by
``python -m hatch_meadow.testing.fault_matrix --scenarios N`` and by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hatch_meadow.names import CREDENTIAL_FILES
from hatch_meadow.testing.fault_matrix import REAL, noisy_faults
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow


def stall_scenario(reboot_s: float = REAL.reboot_s) -> SimulatedMeadow:
    """The board stops reading for 4 s after data packet 1 (its 3 s watchdog fires meanwhile); runtime enabled."""
    return SimulatedMeadow(runtime_enabled=True, reboot_s=reboot_s,
                           faults=Faults(pause_after_packet=1, pause_s=4.0))


def noisy_scenario(reboot_s: float = REAL.reboot_s, seed: int = 0) -> SimulatedMeadow:
    """Runtime enabled; data packet 1 dropped and packet 3 corrupted (counted over the whole deploy); STDOUT
    before 30 % of replies, lone 0x00 before 30 %, replies in 1-5-byte writes, 2 ms latency."""
    return SimulatedMeadow(runtime_enabled=True, reboot_s=reboot_s, seed=seed,
                           faults=noisy_faults(drop=1, corrupt=3, session=True))


@dataclass
class ScenarioRun:
    """One CLI deploy against a scenario board."""

    ok: bool
    exit_code: int
    seconds: float
    detail: str
    max_starts: int


def run_cli_scenario(board: SimulatedMeadow, creds_dir: Path, *, workdir: Path) -> ScenarioRun:
    """``hatch-meadow deploy --force --json`` in a subprocess against ``board`` on a pty; check the board."""
    local = {name: (creds_dir / name).read_bytes() for name in CREDENTIAL_FILES}
    runtime_before = board.runtime_enabled
    started = time.monotonic()
    with PtyBoard(board) as pty:
        proc = subprocess.run(
            [sys.executable, "-m", "hatch_meadow", "deploy", "--force", "--dir", str(creds_dir), "--port", pty.port,
             "--json"], cwd=workdir, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    problems = []
    if proc.returncode != 0:
        problems.append(f"exit {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    else:
        summary = json.loads(proc.stdout)
        if max(summary["attempts"].values()) > 2:
            problems.append(f"attempts {summary['attempts']}")
    if board.esp_store != local:
        problems.append("the secrets store does not hold the local files")
    if board.runtime_enabled != runtime_before:
        problems.append("runtime not restored")
    starts = max(board.starts.values(), default=0)
    if starts > 2:
        problems.append(f"a file was started {starts} times")
    return ScenarioRun(not problems, proc.returncode, seconds, "; ".join(problems), starts)


def run_scenarios(runs: int, *, reboot_s: float = REAL.reboot_s,
                  progress: Callable[[str, ScenarioRun], None] | None = None) -> dict[str, list[ScenarioRun]]:
    """Both scenarios, ``runs`` times each, through the CLI."""
    results: dict[str, list[ScenarioRun]] = {"stall 4 s after packet 1": [], "noisy link": []}
    with tempfile.TemporaryDirectory() as tmp:
        creds_dir = Path(tmp) / "creds"
        from hatch_meadow.creds.generate import generate_credentials

        generate_credentials(creds_dir, device_id="scenario-001")
        for index in range(runs):
            for name, board in (("stall 4 s after packet 1", stall_scenario(reboot_s)),
                                ("noisy link", noisy_scenario(reboot_s, seed=index))):
                run = run_cli_scenario(board, creds_dir, workdir=Path(tmp))
                results[name].append(run)
                if progress is not None:
                    progress(name, run)
    return results
