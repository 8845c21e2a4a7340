"""Crash safety of credential sets (issue #10 F1, F2, F7): SIGKILL at random points, with a slow disk.

Every command that writes a credentials folder is started as a real process and killed with SIGKILL after a
random delay within its own run time, on a disk whose fsync takes 30 ms (a ``sitecustomize`` on PYTHONPATH
wraps ``os.fsync``: nothing in the package knows about it). After each kill the next command sees a set that
is the old one or the new one, complete (the pass file decrypts the key, the key matches the certificate), and
no other file in the folder. Figures: ``HATCH_MEADOW_KILLS=200 .venv/bin/python -m pytest
tests/reliability/test_crash_safety.py -q -s`` (default 10 kills per command).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hatch_meadow.creds.files import read_credentials
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
KILLS = int(os.environ.get("HATCH_MEADOW_KILLS", "10"))
SLOW_FSYNC = ("import os, time\n_fsync = os.fsync\ndef _slow(fd):\n    time.sleep(0.03)\n    _fsync(fd)\n"
              "os.fsync = _slow\n")
#: Key material in any file: PEM private-key blocks of any label (the pass files are checked by name).
KEY_MARKERS = (b"PRIVATE KEY-----", b"Proc-Type: 4,ENCRYPTED")


@pytest.fixture(name="slow_disk_env", scope="module")
def _slow_disk_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("slow-fsync")
    (site / "sitecustomize.py").write_text(SLOW_FSYNC)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return env


def consistent(folder: Path) -> bytes | None:
    """The set's certificate bytes if the three files form one usable set, else None."""
    files = {name: (folder / name).read_bytes() for name in CREDENTIAL_FILES if (folder / name).is_file()}
    if set(files) != set(CREDENTIAL_FILES):
        return None
    try:
        key = serialization.load_pem_private_key(files[PRIVATE_KEY], password=files[PASS_FILE] or None)
        cert = x509.load_pem_x509_certificate(files[CLIENT_CERT])
    except (ValueError, TypeError):
        return None
    same = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return files[CLIENT_CERT] if same else None


def leftovers(folder: Path) -> list[str]:
    """Anything in the folder but the three files; flagged when it holds key material or is a pass file."""
    found = []
    for path in folder.rglob("*"):
        if path.parent == folder and path.name in CREDENTIAL_FILES:
            continue
        data = path.read_bytes() if path.is_file() else b""
        secret = any(m in data for m in KEY_MARKERS) or path.name.endswith("pass.txt") or ".hatch-meadow-" in path.name
        found.append(f"{path.name}{' (key material)' if secret else ''}")
    return found


def _openssl3_key(folder: Path) -> None:
    """A set `fix` must rewrite: PKCS#8 PBES2-AES EC key (OpenSSL 3's default), pass file with a newline."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:Secret1",
            "-out", PRIVATE_KEY)
    openssl("req", "-x509", "-new", "-key", PRIVATE_KEY, "-passin", "pass:Secret1", "-subj", "/CN=dev-9", "-days",
            "90", "-out", CLIENT_CERT)
    (folder / PASS_FILE).write_bytes(b"Secret1\n")


def _pfx(folder: Path) -> Path:
    from cryptography.hazmat.primitives.serialization import pkcs12

    made = folder / "made"
    generate_credentials(made, device_id="dev-pfx", key_type="ec-p256", key_encryption="none")
    key = serialization.load_pem_private_key((made / PRIVATE_KEY).read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((made / CLIENT_CERT).read_bytes())
    pfx = folder / "device.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(b"dev", key, cert, None,  # type: ignore[arg-type]
                                                          serialization.BestAvailableEncryption(b"pfxpass")))
    shutil.rmtree(made)
    return pfx


Setup = Callable[[Path], list[str]]


def _setup_generate_force(folder: Path) -> list[str]:
    generate_credentials(folder, device_id="old", key_type="ec-p256")
    return ["generate", "--dir", str(folder), "--device-id", "new", "--key-type", "ec-p256", "--force"]


def _setup_generate_fresh(folder: Path) -> list[str]:
    return ["generate", "--dir", str(folder), "--device-id", "new", "--key-type", "ec-p256"]


def _setup_fix(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    _openssl3_key(folder)
    return ["fix", "--dir", str(folder)]


def _setup_import_pfx(folder: Path) -> list[str]:
    generate_credentials(folder, device_id="old", key_type="ec-p256")
    pfx = _pfx(folder.parent)
    return ["import-pfx", str(pfx), "--dir", str(folder), "--force"]


def _setup_clear(folder: Path) -> list[str]:
    generate_credentials(folder, device_id="old", key_type="ec-p256")
    return ["clear", "--dir", str(folder), "--yes"]


COMMANDS: dict[str, Setup] = {"generate --force": _setup_generate_force, "generate": _setup_generate_fresh,
                              "fix": _setup_fix, "import-pfx --force": _setup_import_pfx, "clear": _setup_clear}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _new_complete(command: str, folder: Path, now: dict[str, bytes]) -> bool:
    if command == "clear":
        return len(now) == 3 and set(now.values()) == {b""}
    return consistent(folder) is not None


@pytest.mark.parametrize("command", list(COMMANDS))
def test_sigkill_never_tears_a_set(command: str, tmp_path: Path, slow_disk_env: dict[str, str]) -> None:
    env = dict(slow_disk_env, HATCH_MEADOW_PFX_PASSWORD="pfxpass")
    rng = random.Random(command)
    # One undisturbed run: how long the command takes on this slow disk.
    probe = tmp_path / "probe" / "creds"
    args = COMMANDS[command](probe)
    started = time.monotonic()
    done = _run(args, env, tmp_path)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    torn = dirty = blocked = 0
    outcomes = {"old": 0, "new": 0, "none": 0}
    for i in range(KILLS):
        folder = tmp_path / f"k{i}" / "creds"
        args = COMMANDS[command](folder)
        old = {n: (folder / n).read_bytes() for n in CREDENTIAL_FILES if (folder / n).is_file()}
        proc = subprocess.Popen([sys.executable, "-m", "hatch_meadow", *args], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        read_credentials(folder)  # what every command does first: finish or undo the interrupted write
        now = {n: (folder / n).read_bytes() for n in CREDENTIAL_FILES if (folder / n).is_file()}
        if now == old:
            outcomes["old" if old else "none"] += 1
        elif _new_complete(command, folder, now):
            outcomes["new"] += 1
        else:
            torn += 1
        if leftovers(folder):
            dirty += 1
        again = _run(["generate", "--dir", str(folder), "--device-id", "after", "--key-type", "ec-p256", "--force"],
                     env, tmp_path)
        blocked += again.returncode != 0
    print(f"\ncrash safety: {command}: {KILLS} kills (slow fsync 30 ms): old set {outcomes['old']}, new set "
          f"{outcomes['new']}, no set {outcomes['none']}; torn sets {torn}, leftovers {dirty}, later generate "
          f"blocked {blocked}")
    assert (torn, dirty, blocked) == (0, 0, 0)


def test_sigkill_never_tears_a_csproj_or_the_deploy_record(tmp_path: Path, slow_disk_env: dict[str, str]) -> None:
    """`patch-csproj` and a deploy's record writes (save_atomic): the file is the old or the new bytes, always
    parses, and a later run is never blocked."""
    import json

    from conftest import CSPROJ

    rng = random.Random("csproj")
    state = tmp_path / "state"
    env = dict(slow_disk_env, HATCH_MEADOW_STATE_DIR=str(state))
    creds = tmp_path / "creds"
    generate_credentials(creds, device_id="dev-1", key_type="ec-p256")
    torn = 0
    for i in range(KILLS):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        csproj = folder / "App.csproj"
        csproj.write_text(CSPROJ)
        patch = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "patch-csproj", str(csproj)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deploy = subprocess.Popen([sys.executable, "-m", "hatch_meadow", "deploy", "--dir", str(creds), "--port",
                                   f"sim://kill{i}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 2.5))
        for proc in (patch, deploy):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        text = csproj.read_text()
        if text != CSPROJ and "hatch-meadow" not in text:
            torn += 1
        record = state / "deploy-record.json"
        if record.exists():
            json.loads(record.read_text())  # always whole JSON
        again = _run(["patch-csproj", str(csproj)], env, tmp_path)
        assert again.returncode == 0, again.stderr
        assert not [p for p in folder.iterdir() if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    print(f"\ncrash safety: patch-csproj + deploy record: {KILLS} kills: torn csproj {torn}, unreadable records 0")
    assert torn == 0
