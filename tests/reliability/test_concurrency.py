"""Two writers on one credentials folder (issue #10 F7): exactly one wins, the other fails cleanly, and every
printed thumbprint is the one on disk.

Pairs: ``HATCH_MEADOW_PAIRS=100 .venv/bin/python -m pytest tests/reliability/test_concurrency.py -q -s``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_crash_safety import consistent

from hatch_meadow.creds.thumbprint import load_thumbprint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")
PAIRS = int(os.environ.get("HATCH_MEADOW_PAIRS", "10"))


def _start(folder: Path, device_id: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hatch_meadow", "generate", "--dir", str(folder), "--device-id",
                             device_id, "--key-type", "ec-p256", "--json", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("force", [False, True], ids=["generate", "generate-force"])
def test_simultaneous_generates(tmp_path: Path, force: bool) -> None:
    extra = ("--force",) if force else ()
    double_wins = wrong_thumbprints = torn = refused = 0
    for i in range(PAIRS):
        folder = tmp_path / f"p{i}"
        procs = [_start(folder, f"dev-{n}", *extra) for n in ("a", "b")]
        runs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        for code, _out, err in runs:
            assert code in (0, 2), err
            assert "Traceback" not in err
        winners = [json.loads(out)["thumbprints"]["sha256"] for code, out, _ in runs if code == 0]
        refused += sum(code == 2 for code, _, _ in runs)
        on_disk = load_thumbprint(folder).sha256
        if consistent(folder) is None:
            torn += 1
        if not force and len(winners) != 1:
            double_wins += 1
        if on_disk not in winners:  # the last writer's thumbprint is the one on disk
            wrong_thumbprints += 1
        if not force:
            assert winners == [on_disk]
    print(f"\nconcurrency: {PAIRS} pairs of simultaneous `generate{' --force' if force else ''}`: second writer "
          f"refused {refused}, double wins {double_wins}, printed thumbprint not on disk {wrong_thumbprints}, "
          f"torn sets {torn}")
    assert (double_wins, wrong_thumbprints, torn) == (0, 0, 0)
