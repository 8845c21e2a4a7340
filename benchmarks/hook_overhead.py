"""Wheel build of example_project with the meadow hook vs the same build with HATCH_MEADOW_SKIP=1.

Each run is a whole `python -m hatchling build -t wheel` process (what a user waits for), on a copy of
example_project whose csproj is already patched, i.e. the steady state of a rebuild. Runs alternate
between the two variants so machine noise hits both alike. Prints the medians and their ratio.
Target (issue: Foundation): ratio <= 1.10.

    python benchmarks/hook_overhead.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"


def build(project: Path, env: dict[str, str]) -> float:
    shutil.rmtree(project / "dist", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel"], cwd=project, env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HATCH_") or k == "HATCH_MEADOW_STATE_DIR"}
    # Installed packages run from bytecode (pip compiles at install); an editable checkout may not have
    # any when PYTHONDONTWRITEBYTECODE is set, which would bill compile time to the hook.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(EXAMPLE.parent / "hatch_meadow")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "example_project"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist"))
        build(project, base_env)  # first build patches the csproj (and warms caches)
        with_hook, skipped = [], []
        for _ in range(args.runs):
            with_hook.append(build(project, base_env))
            skipped.append(build(project, {**base_env, "HATCH_MEADOW_SKIP": "1"}))
    hook, skip = statistics.median(with_hook), statistics.median(skipped)
    print(f"wheel build of example_project, median of {args.runs} runs each")
    print(f"  HATCH_MEADOW_SKIP=1 (baseline): {skip * 1000:8.1f} ms")
    print(f"  with the meadow hook:           {hook * 1000:8.1f} ms")
    print(f"  ratio hook / baseline:          {hook / skip:8.3f}   target <= 1.10")


if __name__ == "__main__":
    main()
