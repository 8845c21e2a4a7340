"""Input hygiene (issue #10 F4, F8, F10, F12; #17 item 4): what reaches XML, a shell line, a file or the board."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.passphrase import MAX_PASSPHRASE_BYTES

Project = Callable[..., Path]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=60, check=False)


def hashes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85"])
def test_control_characters_never_reach_the_csproj(project: Project, char: str) -> None:
    """F4: in csproj-condition (hook table), --condition and --files: exit 2, the csproj untouched."""
    root = project()
    before = hashes(root)
    condition = f"'$(Configuration)' == 'Debug{char}'"
    cli_cases = [] if char == "\x00" else [  # argv cannot carry a NUL at all
        ["patch-csproj", "MeadowApp/MeadowApp.csproj", "--condition", condition],
        ["patch-csproj", "MeadowApp/MeadowApp.csproj", "-f", f"a{char}.pem"]]
    for args in cli_cases:
        run = run_cli(*args, cwd=root)
        assert run.returncode == 2, run.stderr
        assert "control character U+" in run.stderr
        assert "Traceback" not in run.stderr
    text = (root / "pyproject.toml").read_text()
    escaped = condition.replace("\\", "\\\\").replace(char, f"\\u{ord(char):04x}")
    (root / "pyproject.toml").write_text(text + f'csproj-condition = "{escaped}"\n')
    before["pyproject.toml"] = (root / "pyproject.toml").read_bytes()
    run = run_cli("check", cwd=root)
    assert run.returncode == 2
    assert "csproj-condition: contains the control character" in run.stderr
    assert hashes(root) == before


def test_printed_az_line_is_shell_quoted_and_safe_to_paste(tmp_path: Path) -> None:
    """F8: a CN like x$(id) and the placeholder hub reach the shell as plain words."""
    _certificate_with_cn(tmp_path / "c", "x$(touch PWNED)")  # a board's PFX may carry any CN
    run = run_cli("thumbprint", "--dir", "c", cwd=tmp_path)
    az = run.stdout.strip().splitlines()[-1]
    words = shlex.split(az)
    assert words[words.index("--device-id") + 1] == "x$(touch PWNED)"
    assert words[words.index("--hub-name") + 1] == "YOUR-IOT-HUB"
    echoed = subprocess.run(["bash", "-c", "printf '%s\\n' " + az.removeprefix("az ")], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    assert "x$(touch PWNED)" in echoed.stdout
    assert not (tmp_path / "PWNED").exists()


def _certificate_with_cn(folder: Path, cn: str) -> None:
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    folder.mkdir()
    (folder / "client_cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.mark.parametrize("hub", ["x;rm -rf /", "a", "-hub", "my_hub", "$(id)"])
def test_hub_names_are_validated(tmp_path: Path, hub: str) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1", key_type="ec-p256")
    run = run_cli("thumbprint", "--dir", "c", "--hub", hub, cwd=tmp_path)
    assert run.returncode == 2
    assert "is not an IoT Hub name" in run.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_special_files_are_refused_without_hanging(tmp_path: Path) -> None:
    """F10: a FIFO as the PFX (or as a credential file) is refused at once."""
    os.mkfifo(tmp_path / "fifo.pfx")
    run = run_cli("import-pfx", "fifo.pfx", "--dir", "c", cwd=tmp_path, env={"HATCH_MEADOW_PFX_PASSWORD": "x"})
    assert run.returncode == 2
    assert "not a regular file" in run.stderr
    (tmp_path / "c2").mkdir()
    os.mkfifo(tmp_path / "c2" / "private_key.pem")
    checked = run_cli("check", "--dir", "c2", cwd=tmp_path)
    assert checked.returncode == 1
    assert "is not a regular file" in checked.stdout


@pytest.mark.parametrize(("value", "message"), [
    ("", "the passphrase is empty"),
    ("a" * (MAX_PASSPHRASE_BYTES + 1), f"keeps at most {MAX_PASSPHRASE_BYTES}"),
    ("in\x01side", "control character"),
])
def test_passphrase_variable_is_bounded_and_never_silently_replaced(tmp_path: Path, value: str, message: str) -> None:
    """F12: an empty variable is an error (not a random passphrase); the length is what the board keeps."""
    run = run_cli("generate", "--dir", "c", "--device-id", "dev-1", "--key-type", "ec-p256", cwd=tmp_path,
                  env={"HATCH_MEADOW_KEY_PASSPHRASE": value})
    assert run.returncode == 2
    assert message in run.stderr
    assert not (tmp_path / "c").exists()
    ok = run_cli("generate", "--dir", "c", "--device-id", "dev-1", "--key-type", "ec-p256", cwd=tmp_path,
                 env={"HATCH_MEADOW_KEY_PASSPHRASE": "b" * MAX_PASSPHRASE_BYTES})
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_check_warns_about_secrets_others_can_read(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256")
    (folder / "private_key.pem").chmod(0o644)
    os.link(folder / "private_key_pass.txt", tmp_path / "copy.txt")
    run = run_cli("check", "--dir", "c", "--strict", cwd=tmp_path)
    assert run.returncode == 1
    assert "[secret-readable]" in run.stdout
    assert "mode 0644" in run.stdout
    assert "[secret-hard-link]" in run.stdout
    assert run_cli("check", "--dir", "c", cwd=tmp_path).returncode == 0  # warnings: errors only under --strict
