"""Bad-input corpus for every command and the hook (issue #10 suite): malformed, truncated, binary, huge, empty,
special files and control characters, with a hash of every project file before and after.

Each case must end with an exit code of the error model (0 when the broken file does not matter to that command,
1 findings, 2 bad input, 3 device), never a traceback (exit 70), and change no file unless it exits 0.
Figures: ``.venv/bin/python -m pytest tests/reliability/test_bad_input.py -q -s``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import hatchling_build, write_project

from hatch_meadow.creds.generate import generate_credentials

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks as POSIX has them")
Corrupt = Callable[[Path], None]


def _write(data: bytes) -> Corrupt:
    def apply(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.write_bytes(data)
    return apply


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _directory(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.mkdir()


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _link(target: str) -> Corrupt:
    def apply(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return apply


CORRUPTIONS: dict[str, Corrupt] = {
    "empty": _write(b""), "truncated": _truncate, "binary": _write(bytes(range(256)) * 8),
    "huge": _write(b"A" * (3 << 20)), "control-chars": _write(b"-----BEGIN \x00\x01\x1b PRIVATE KEY-----\n\x7f\n"),
    "directory": _directory, "fifo": _fifo, "to-dev-zero": _link("/dev/zero"), "dangling-link": _link("missing"),
}
CREDENTIAL_TARGETS = ("MeadowApp/private_key.pem", "MeadowApp/client_cert.pem", "MeadowApp/private_key_pass.txt")
PROJECT_TARGETS = ("MeadowApp/MeadowApp.csproj", "pyproject.toml")
COMMANDS = {
    "check": ["check"], "thumbprint": ["thumbprint"], "fix": ["fix"], "deploy": ["deploy", "--port", "sim://bad"],
    "generate": ["generate"], "patch-csproj": ["patch-csproj", "MeadowApp/MeadowApp.csproj"],
}


def snapshot(root: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_fifo():
            found[rel] = "fifo"
        elif path.is_file():
            found[rel] = path.read_bytes()
        elif path.is_dir():
            found[rel] = "dir"
    return found


@pytest.fixture(name="template", scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("bad-input") / "proj", 'device-id = "dev-001"\n')
    generate_credentials(root / "MeadowApp", device_id="dev-001", key_type="ec-p256")
    return root


def _case(template: Path, where: Path, target: str, corruption: str, command: str) -> tuple[str, int, str, bool]:
    root = where / f"{command}-{corruption}-{target.replace('/', '_')}"
    shutil.copytree(template, root, symlinks=True)
    CORRUPTIONS[corruption](root / target)
    before = snapshot(root)
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", *COMMANDS[command]], cwd=root, capture_output=True,
                         text=True, timeout=60, check=False, env={**os.environ, "HATCH_MEADOW_PFX_PASSWORD": ""})
    changed = run.returncode != 0 and snapshot(root) != before
    return f"{command} / {target} {corruption}", run.returncode, run.stdout + run.stderr, changed


def test_bad_input_corpus(template: Path, tmp_path: Path) -> None:
    cases = [(t, c, cmd) for t in (*CREDENTIAL_TARGETS, *PROJECT_TARGETS) for c in CORRUPTIONS for cmd in COMMANDS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: _case(template, tmp_path, *case), cases))
    tracebacks = [name for name, code, out, _ in results if code == 70 or "Traceback" in out]
    bad_codes = [f"{name}: {code}" for name, code, _, _ in results if code not in (0, 1, 2, 3)]
    changed = [name for name, _, _, was_changed in results if was_changed]
    unnamed = [name for name, code, out, _ in results
               if code == 2 and not any(part in out for part in (name.split(" / ")[1].split()[0].split("/")[-1],
                                                                 "pyproject", "csproj", "--"))]
    print(f"\nbad input: {len(results)} cases ({len(CORRUPTIONS)} corruptions x {len(CREDENTIAL_TARGETS)} credential "
          f"files + {len(PROJECT_TARGETS)} project files x {len(COMMANDS)} commands): tracebacks {len(tracebacks)}, "
          f"other exit codes {len(bad_codes)}, changed files {len(changed)}, errors not naming the file "
          f"{len(unnamed)}")
    assert tracebacks == []
    assert bad_codes == []
    assert changed == []
    assert unnamed == []


@pytest.mark.parametrize("corruption", ["binary", "huge", "fifo", "control-chars"])
@pytest.mark.parametrize("target", ["MeadowApp/private_key.pem", "MeadowApp/MeadowApp.csproj"])
def test_the_hook_fails_cleanly_on_bad_input(template: Path, tmp_path: Path, target: str, corruption: str) -> None:
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True)
    CORRUPTIONS[corruption](root / target)
    before = snapshot(root)
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "Traceback" not in run.output
    assert Path(target).name in run.output
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith(("dist", ".hatch-meadow"))} == before
