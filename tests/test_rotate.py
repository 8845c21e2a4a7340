"""`hatch-meadow rotate` (issue #12 item 3): a working new set, the old one aside with its thumbprint in the
printed update, refusals that protect devices, and no lost set when the process is killed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.thumbprint import load_thumbprint
from hatch_meadow.creds.validate import check_credentials

#: Read at import: the autouse fixture clears HATCH_MEADOW_* variables before each test.
KILLS = int(os.environ.get("HATCH_MEADOW_KILLS", "12"))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


@pytest.fixture(name="folder")
def _folder(tmp_path: Path) -> Path:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    return tmp_path / "c"


def test_rotate_then_finish(folder: Path) -> None:
    old = load_thumbprint(folder).sha256
    old_key = (folder / "private_key.pem").read_bytes()
    run = run_cli("rotate", "--dir", "c", "--hub", "my-hub", "--json", cwd=folder.parent)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    new = load_thumbprint(folder).sha256
    assert new != old
    assert (result["old_sha256"], result["new_sha256"], result["device_id"]) == (old, new, "dev-1")
    assert result["az"] == ("az iot hub device-identity update --hub-name my-hub --device-id dev-1 "
                            f"--primary-thumbprint {new} --secondary-thumbprint {old}")
    assert check_credentials(folder).usable_reason is None  # the new set works
    retired = Path(folder.parent / result["retired"])
    assert (retired / "private_key.pem").read_bytes() == old_key
    assert load_thumbprint(retired).sha256 == old
    assert (retired / "private_key.pem").stat().st_mode & 0o777 == 0o600
    assert retired.parent.stat().st_mode & 0o777 == 0o700
    assert (retired.parent.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert old_key.decode() not in run.stdout
    finish = run_cli("rotate", "--dir", "c", "--finish", cwd=folder.parent)
    assert finish.returncode == 0, finish.stderr
    assert f"--primary-thumbprint {new} --secondary-thumbprint {new}" in finish.stdout
    assert not retired.exists()
    again = run_cli("rotate", "--dir", "c", "--finish", cwd=folder.parent)
    assert again.returncode == 2
    assert "no rotation in progress" in again.stderr


def test_nothing_to_rotate(tmp_path: Path) -> None:
    run = run_cli("rotate", "--dir", "empty", cwd=tmp_path)
    assert run.returncode == 2
    assert "nothing to rotate" in run.stderr
    assert "hatch-meadow generate" in run.stderr


def test_rotating_twice_is_refused_and_changes_nothing(folder: Path) -> None:
    assert run_cli("rotate", "--dir", "c", cwd=folder.parent).returncode == 0
    current = {n: (folder / n).read_bytes() for n in ("client_cert.pem", "private_key.pem")}
    run = run_cli("rotate", "--dir", "c", cwd=folder.parent)
    assert run.returncode == 2
    assert "a rotation is already in progress" in run.stderr
    assert "rotate --finish" in run.stderr
    assert {n: (folder / n).read_bytes() for n in current} == current


def test_a_rejected_set_is_rotated_with_a_note(folder: Path) -> None:
    (folder / "private_key_pass.txt").write_text("not the passphrase")
    run = run_cli("rotate", "--dir", "c", cwd=folder.parent)
    assert run.returncode == 0, run.stderr
    assert "the old set was not usable" in run.stderr
    assert check_credentials(folder).usable_reason is None


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_planted_state_link_is_never_written_through(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / ".hatch-meadow").symlink_to(elsewhere)
    before = load_thumbprint(folder).sha256
    run = run_cli("rotate", "--dir", "c", cwd=folder.parent)
    assert run.returncode == 2
    assert "is a symlink" in run.stderr
    assert list(elsewhere.iterdir()) == []
    assert load_thumbprint(folder).sha256 == before


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_rotations_never_lose_a_set(tmp_path: Path) -> None:
    """SIGKILL at random moments: the folder always holds a complete usable set, and whenever it is no longer
    the original one, the original is set aside; the next rotate resumes (or is refused as in progress)."""
    rng = random.Random(1234)
    kills = KILLS
    outcomes = {"old": 0, "new": 0}
    for round_ in range(kills):
        root = tmp_path / f"r{round_}"
        generate_credentials(root / "c", device_id="dev-1", key_type="ec-p256")
        original = load_thumbprint(root / "c").sha256
        proc = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "rotate", "--dir", "c"], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert check_credentials(root / "c").usable_reason is None
        current = load_thumbprint(root / "c").sha256
        retired = list((root / "c" / ".hatch-meadow" / "retired").glob("2*")) if (
            root / "c" / ".hatch-meadow" / "retired").is_dir() else []
        if current == original:
            outcomes["old"] += 1
            resumed = run_cli("rotate", "--dir", "c", cwd=root)
            assert resumed.returncode == 0, resumed.stderr
            assert load_thumbprint(root / "c").sha256 != original
        else:
            outcomes["new"] += 1
            assert [load_thumbprint(r).sha256 for r in retired] == [original]
        if (root / "c" / ".hatch-meadow" / "retired").is_dir():
            assert not list((root / "c" / ".hatch-meadow" / "retired").glob(".staging-*"))
    print(f"\nrotate killed {kills} times: old set kept {outcomes['old']}, new set complete {outcomes['new']}")
