"""`hatch-meadow fleet rotate` (issue #12's rotation, for fleets; issue #11): new sets for the chosen devices,
old thumbprints kept as secondary until --finish, resumable after SIGKILL, redeployed to the same boards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.fleet.ca import init_ca
from hatch_meadow.fleet.provision import deploy_fleet
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES
from hatch_meadow.testing.pty_board import PtyBoard
from hatch_meadow.testing.simulator import SimulatedMeadow

PASSPHRASE = "rotate-tests-passphrase"


def hm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE}
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False, timeout=timeout)


def fleet(root: Path, count: int, *extra: str) -> Path:
    init_ca(root / "CA", passphrase=PASSPHRASE.encode())
    (root / "devices.csv").write_text("device_id\n" + "".join(f"dev-{i}\n" for i in range(count)))
    done = hm("fleet", "issue", "--ca", "CA", "--devices", "devices.csv", "--out", "OUT", "--auth", "self-signed",
              *extra, cwd=root)
    assert done.returncode == 0, done.stderr
    return root / "OUT"


def entries(out: Path) -> dict[str, dict[str, Any]]:
    return {d["device_id"]: d for d in json.loads((out / "manifest.json").read_text())["devices"]}


def thumbprint(folder: Path) -> str:
    der = x509.load_pem_x509_certificate((folder / CLIENT_CERT).read_bytes()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest().upper()


def test_rotate_named_devices_then_finish(tmp_path: Path) -> None:
    out = fleet(tmp_path, 3, "--key-type", "ec-p256")
    before = entries(out)
    done = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--device", "dev-0", "--device", "dev-1",
              "--key-type", "ec-p256", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["issued"] == 2
    after = entries(out)
    for name in ("dev-0", "dev-1"):
        old, new = before[name]["sha256_thumbprint"], after[name]["sha256_thumbprint"]
        assert new != old
        assert after[name]["previous_sha256_thumbprint"] == old
        assert thumbprint(out / name) == new
        assert check_credentials(out / name, device_id=name).usable_reason is None
        retired = list((out / ".retired").glob(f"*/{name}"))
        assert len(retired) == 1
        assert thumbprint(retired[0]) == old
    assert after["dev-2"] == before["dev-2"]
    lines = (out / "iothub-import.jsonl").read_text().splitlines()
    imports = {json.loads(line)["id"]: json.loads(line) for line in lines}
    pair = imports["dev-0"]["authentication"]["x509Thumbprint"]
    assert pair == {"primaryThumbprint": after["dev-0"]["sha256_thumbprint"],
                    "secondaryThumbprint": before["dev-0"]["sha256_thumbprint"]}
    script = (out / "azure.sh").read_text()
    assert (f'az iot hub device-identity update --hub-name "$HUB" --device-id dev-0 --primary-thumbprint '
            f'{after["dev-0"]["sha256_thumbprint"]} --secondary-thumbprint {before["dev-0"]["sha256_thumbprint"]}'
            ) in script
    assert "device-identity create --hub-name \"$HUB\" --device-id dev-2" in script
    again = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--device", "dev-0", cwd=tmp_path)
    assert again.returncode == 2
    assert "is not finished" in again.stderr
    finish = hm("fleet", "rotate", "--out", "OUT", "--finish", cwd=tmp_path)
    assert finish.returncode == 0, finish.stderr
    finished = entries(out)
    assert all(e["previous_sha256_thumbprint"] is None for e in finished.values())
    assert not (out / ".retired").exists()
    drop = (out / "azure-rotate-finish.sh").read_text()
    new0 = finished["dev-0"]["sha256_thumbprint"]
    assert f"--primary-thumbprint {new0} --secondary-thumbprint {new0}" in drop
    assert subprocess.run(["sh", "-n", str(out / "azure-rotate-finish.sh")], check=False).returncode == 0
    nothing = hm("fleet", "rotate", "--out", "OUT", "--finish", cwd=tmp_path)
    assert nothing.returncode == 2
    assert "no rotation in progress" in nothing.stderr


def test_rotate_by_expiry(tmp_path: Path) -> None:
    out = fleet(tmp_path, 2, "--key-type", "ec-p256", "--days", "20")
    quiet = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--expires-within", "10", "--json", cwd=tmp_path)
    assert quiet.returncode == 0
    assert json.loads(quiet.stdout)["issued"] == 0
    assert "no device needs rotating" in json.loads(quiet.stdout)["notes"]
    due = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--key-type", "ec-p256", "--json", cwd=tmp_path)
    assert json.loads(due.stdout)["issued"] == 2
    assert all(e["not_after"] > "2027" for e in entries(out).values())
    unknown = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--device", "nobody", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "not in the fleet: nobody" in unknown.stderr


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.8])
def test_killed_rotation_resumes(tmp_path: Path, delay: float) -> None:
    out = fleet(tmp_path, 30, "--key-type", "ec-p256")
    original = {k: v["sha256_thumbprint"] for k, v in entries(out).items()}
    args = [sys.executable, "-m", "hatch_meadow", "fleet", "rotate", "--ca", "CA", "--out", "OUT",
            "--expires-within", "400", "--key-type", "rsa-2048", "--jobs", "1"]
    env = {**os.environ, "HATCH_MEADOW_CA_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((out / ".retired").glob("*/*")):
        time.sleep(0.02)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    mid = entries(out)
    assert all(mid[k]["previous_sha256_thumbprint"] == original[k] for k in original)  # committed first
    resumed = hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--key-type", "rsa-2048", "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted rotation" in " ".join(json.loads(resumed.stdout)["notes"])
    final = entries(out)
    for name, old in original.items():
        assert final[name]["previous_sha256_thumbprint"] == old
        assert final[name]["sha256_thumbprint"] != old
        assert thumbprint(out / final[name]["folder"]) == final[name]["sha256_thumbprint"]
    retired = {thumbprint(p) for p in (out / ".retired").glob("*/*")}
    assert retired == set(original.values())  # every old set kept until --finish
    assert hm("fleet", "rotate", "--out", "OUT", "--finish", cwd=tmp_path).returncode == 0


def test_rotated_set_is_redeployed_to_the_same_board(tmp_path: Path) -> None:
    out = fleet(tmp_path, 2, "--key-type", "ec-p256")
    with PtyBoard(SimulatedMeadow(serial_number="ABCD0001", reboot_s=0.05)) as pty:
        assert deploy_fleet(out, [pty.port]).exit_code == 0
        device = next(e for e in entries(out).values() if e["deployed_to"] == "ABCD0001")["device_id"]
        assert hm("fleet", "rotate", "--ca", "CA", "--out", "OUT", "--device", device, "--key-type", "ec-p256",
                  cwd=tmp_path).returncode == 0
        assert entries(out)[device]["deployed_to"] == "ABCD0001"
        assert entries(out)[device]["deployed_at"] is None
        run = deploy_fleet(out, [pty.port])
        assert run.exit_code == 0
        assert [(o.device_id, o.status) for o in run.outcomes] == [(device, "deployed")]
        folder = out / entries(out)[device]["folder"]
        assert pty.board.esp_store == {n: (folder / n).read_bytes() for n in CREDENTIAL_FILES}
