"""Secret hygiene (issue #10 suite): the main flows' output, logs, records and artifacts never hold the
passphrase or the private key's bytes (PEM body, DER, or the base64 of either)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import hatchling_build, machine_state, write_project
from cryptography.hazmat.primitives import serialization

PASSPHRASE = "Hygiene-Passphrase-7c1f"


def _needles(creds: Path) -> dict[str, bytes]:
    pem = (creds / "private_key.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=PASSPHRASE.encode())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    body = b"".join(line for line in pem.splitlines() if line and not line.startswith((b"-----", b"Proc-", b"DEK-")))
    return {"passphrase": PASSPHRASE.encode(), "PEM body": body[20:60], "DER": der[-40:],
            "DER base64": base64.b64encode(der)[20:60], "DER hex": der[-24:].hex().encode()}


def _haystacks(root: Path, outputs: list[str]) -> dict[str, bytes]:
    found = {f"output #{i}": text.encode() for i, text in enumerate(outputs)}
    for folder in (root / ".hatch-meadow", machine_state()):
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file():
                found[str(path)] = path.read_bytes()
    for artifact in (root / "dist").glob("*"):
        if artifact.suffix == ".whl":
            with zipfile.ZipFile(artifact) as archive:
                found.update({f"{artifact.name}!{n}": archive.read(n) for n in archive.namelist()})
        else:
            import tarfile

            with tarfile.open(artifact) as archive:
                for member in archive:
                    handle = archive.extractfile(member) if member.isfile() else None
                    if handle is not None:
                        found[f"{artifact.name}!{member.name}"] = handle.read()
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="pty-based simulated board")
def test_no_flow_leaks_a_secret(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", 'device-id = "dev-001"\n')
    env = {**os.environ, "HATCH_MEADOW_KEY_PASSPHRASE": PASSPHRASE}
    outputs: list[str] = []

    def cli(*args: str) -> None:
        run = subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=root, env=env, capture_output=True,
                             text=True, timeout=120, check=False)
        outputs.extend([run.stdout, run.stderr])

    wheel = hatchling_build(root, env={"HATCH_MEADOW_KEY_PASSPHRASE": PASSPHRASE, "HATCH_MEADOW_DEPLOY": "1",
                                       "HATCH_MEADOW_PORT": "sim://hygiene", "HATCH_MEADOW_STRICT": "0"})
    assert wheel.returncode == 0, wheel.output
    outputs.append(wheel.output)
    sdist = hatchling_build(root, target="sdist")
    assert sdist.returncode == 0, sdist.output
    outputs.append(sdist.output)
    for args in (["check"], ["check", "--json"], ["check", "--with-mbedtls"], ["thumbprint", "--json"], ["fix"],
                 ["fix", "--json"], ["deploy", "--port", "sim://hygiene", "--force"],
                 ["deploy", "--port", "sim://hygiene", "--json", "--force"], ["generate", "--device-id", "dev-001"]):
        cli(*args)
    needles = _needles(root / "MeadowApp")
    haystacks = _haystacks(root, outputs)
    leaks = [f"{what} in {where}" for where, data in haystacks.items() for what, needle in needles.items()
             if needle in data]
    print(f"\nsecret hygiene: {len(haystacks)} outputs, records and artifact members scanned for "
          f"{len(needles)} kinds of secret bytes: leaks {len(leaks)}")
    assert leaks == []
