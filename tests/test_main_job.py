"""The README's main-job command runs end to end (install, build, deploy to sim://, rebuild, check)."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_readme_main_job_runs_end_to_end() -> None:
    """`bash scripts/demo.sh` succeeds and shows every step's outcome."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCH_", "MEADOW_"))}
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme.split("```")[1]  # it is the first command at the top
    proc = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for expected in (
        "generated rsa-2048 credentials for meadow-example-001",
        "the board imported the credentials into its secrets store",
        "credentials unchanged since the last deploy to this board: skipped",
        "csproj and credentials unchanged by the second build",
        "wheel clean",
        "az iot hub device-identity create --hub-name my-meadow-hub --device-id meadow-example-001",
        "real Mbed TLS 2.28.8: accept",
    ):
        assert expected in out, expected
    assert "BEGIN RSA PRIVATE KEY" not in out
    secret = (REPO / ".demo" / "example_project" / "MeadowApp" / "private_key_pass.txt").read_text()
    assert secret
    assert secret not in out
