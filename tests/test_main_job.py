"""The README's main-job command runs end to end (install, build, deploy to sim://, rebuild, check)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from hatch_meadow.mbedtls_oracle import MbedTLSUnavailable, load

pytestmark = pytest.mark.slow


def test_readme_main_job_runs_end_to_end() -> None:
    """`bash scripts/demo.sh` succeeds and shows every step's outcome, with this test run's Python."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCH_", "MEADOW_", "VENV", "PYTHON"))}
    env["PYTHON"] = sys.executable
    if sys.prefix != sys.base_prefix:  # the venv this suite runs in (.venv, .venv-3.12, ...): no second install
        env["VENV"] = sys.prefix
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme.split("```")[1]  # it is the first command at the top
    proc = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    version = ".".join(map(str, sys.version_info[:3]))
    expected = [
        f"demo.sh: Python {version}",
        "generated rsa-2048 credentials for meadow-example-001",
        "the board imported the credentials into its secrets store",
        "credentials unchanged since the last deploy to this board: skipped",
        "csproj and credentials unchanged by the second build",
        "wheel clean",
        "az iot hub device-identity create --hub-name my-meadow-hub --device-id meadow-example-001",
    ]
    try:
        real = load()  # after the demo, which may have installed the system's Mbed TLS
    except MbedTLSUnavailable as exc:
        # No real Mbed TLS on this machine: the demo says why and checks with the prediction only.
        expected += [f"without real Mbed TLS here (real Mbed TLS: unavailable: {exc}", "the board would ACCEPT them"]
    else:
        expected += [f"real Mbed TLS: Mbed TLS {real.version}, {real.source}",
                     f"real Mbed TLS {real.version}: accept (key: OK, cert: OK)", f"using the {real.source}"]
    for line in expected:
        assert line in out, line
    assert "BEGIN RSA PRIVATE KEY" not in out
    secret = (REPO / ".demo" / "example_project" / "MeadowApp" / "private_key_pass.txt").read_text()
    assert secret
    assert secret not in out
