"""Start-up cost of the short commands, as ratios against `python -c pass` in the same script.

    python benchmarks/cli_startup.py [--runs N]

Targets (issue #9): `hatch-meadow --version` and `--help` within 2x `python -c pass`. Each command is
run as a process, interleaved with the baseline, median of N runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("hatch-meadow")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "COLUMNS": "80"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # Installed packages run from bytecode (pip compiles at install); a checkout may have none (or stale) when
    # PYTHONDONTWRITEBYTECODE is set, which would bill compile time to every hatch-meadow run.
    package = Path(__file__).resolve().parents[1] / "hatch_meadow"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)],
                   check=True)
    entry = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hatch_meadow"]
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "--version": [*entry, "--version"],
                "--help": [*entry, "--help"], "check --help": [*entry, "check", "--help"]}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            samples[name].append(timed(command))
    base = statistics.median(samples["python -c pass"])
    print(f"CLI start-up, median of {args.runs} runs (entry: {' '.join(entry)})")
    print(f"  python -c pass: {base * 1000:.1f} ms")
    for name in ("--version", "--help", "check --help"):
        median = statistics.median(samples[name])
        target = "   target <= 2.0" if name in ("--version", "--help") else "   (click loads: no target)"
        print(f"  hatch-meadow {name}: {median * 1000:.1f} ms, ratio {median / base:.2f}{target}")


if __name__ == "__main__":
    main()
