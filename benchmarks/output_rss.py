"""Peak memory of `hatch-meadow deploy --output-dir` with large build-output files (issue #17: files are
streamed from disk, never read whole).

    python benchmarks/output_rss.py [--mib N]

The same deploy (credentials + an app output folder, to a simulated Meadow behind a real pseudo-terminal) runs
twice as a real process: once with a 1 KiB App.dll (the baseline), once with an N MiB App.dll plus an N MiB
data file (default N = 48). Peak RSS comes from wait4(); the ratio large ÷ baseline should stay near 1.0,
whatever N (reading whole files would add about 2 x N MiB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow


def _deploy_peak_mb(root: Path, out: Path) -> tuple[float, int, float, int]:
    env = {**os.environ, "HATCH_MEADOW_STATE_DIR": str(root / f"state-{out.name}")}  # both send the credentials
    board = SimulatedMeadow()
    with PtyBoard(board) as pty:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "deploy", "--dir", "c", "--output-dir",
                                 str(out), "--port", pty.port], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.monotonic() - started
    stored = sum(len(data) for data in board.files.values())
    return usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), took, stored


def _write_random(path: Path, mib: int) -> None:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(1 << 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=48, help="size of each of the two large files (MiB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_credentials(root / "c", device_id="bench-001", key_type="ec-p256")
        small, large = root / "small", root / "large"
        small.mkdir()
        large.mkdir()
        (small / "App.dll").write_bytes(os.urandom(1024))
        _write_random(large / "App.dll", args.mib)
        _write_random(large / "assets.bin", args.mib)
        base, code, took, stored = _deploy_peak_mb(root, small)
        print(f"peak RSS, deploy with a 1 KiB output (baseline): {base:.1f} MB, exit {code}, {took:.1f} s")
        peak, code, took, stored = _deploy_peak_mb(root, large)
        print(f"peak RSS, deploy with 2 x {args.mib} MiB output files: {peak:.1f} MB, exit {code}, {took:.1f} s, "
              f"{stored / (1 << 20):.1f} MiB on the board")
        print(f"ratio large / baseline: {peak / base:.3f} (reading the files whole would add ~{2 * args.mib} MB)")


if __name__ == "__main__":
    main()
