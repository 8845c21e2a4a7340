"""Placeholder and instructions texts where credentials belong (issue #14 item 6): named for what they are,
not as broken base64, in `check`, the deploy's refusal and `explain`'s advice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.placeholder import placeholder_reason
from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY

SAMPLES = Path(__file__).parent / "data" / "placeholders"


def sample_file(name: str) -> Path:
    """The sample text for credential file ``name`` (stored under another name: the real names are git-ignored)."""
    return SAMPLES / (name.rsplit(".", 1)[0] + ".placeholder")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(name="sample")
def _sample(tmp_path: Path) -> Path:
    folder = tmp_path / "MeadowApp"
    folder.mkdir()
    for name in CREDENTIAL_FILES:
        shutil.copy(sample_file(name), folder / name)
        (folder / name).chmod(0o600)
    return folder


def test_the_vendor_samples_three_files_are_named_placeholders(sample: Path) -> None:
    report = check_credentials(sample)
    codes = sorted((f.code, f.file) for f in report.findings if f.severity == "error")
    assert codes == [("cert-placeholder", CLIENT_CERT), ("key-placeholder", PRIVATE_KEY),
                     ("pass-placeholder", PASS_FILE)]
    messages = " ".join(f.message for f in report.findings)
    assert "base64" not in messages
    assert 'holds instructions ("Replace this file with your private key in .pem format (REQUIRED)")' in messages
    assert all("hatch-meadow generate --force" in (f.fix or "") for f in report.findings if f.severity == "error")
    assert report.parse == "reject"


def test_check_cli_and_json(sample: Path) -> None:
    done = cli("check", "--dir", str(sample), cwd=sample.parent)
    assert done.returncode == 1
    assert "private_key.pem is a placeholder, not a credential" in done.stdout + done.stderr
    data = json.loads(cli("check", "--dir", str(sample), "--json", cwd=sample.parent).stdout)
    assert {f["code"] for f in data["findings"] if f["severity"] == "error"} == {
        "cert-placeholder", "key-placeholder", "pass-placeholder"}


def test_deploy_refuses_placeholders_before_opening_the_port(sample: Path) -> None:
    done = cli("deploy", "--dir", str(sample), "--port", "sim://placeholder", cwd=sample.parent)
    assert done.returncode == 1
    assert "placeholder" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_generate_force_replaces_them(sample: Path) -> None:
    done = cli("generate", "--dir", str(sample), "--device-id", "dev-1", "--force", cwd=sample.parent)
    assert done.returncode == 0, done.stderr
    assert check_credentials(sample).usable_reason is None


def test_one_placeholder_beside_real_files(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1")
    shutil.copy(sample_file(CLIENT_CERT), tmp_path / "c" / CLIENT_CERT)
    codes = [f.code for f in check_credentials(tmp_path / "c").findings if f.severity == "error"]
    assert codes == ["cert-placeholder"]


@pytest.mark.parametrize(("name", "data"), [
    (PRIVATE_KEY, b"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n"),
    (PRIVATE_KEY, b"Paste your private key here\n"),
    (CLIENT_CERT, b"-----BEGIN CERTIFICATE-----\nyour certificate goes here\n-----END CERTIFICATE-----\n"),
    (PASS_FILE, b"line one\nline two\n"),
    (PASS_FILE, b"Put your passphrase here (REQUIRED if the key is encrypted)"),
])
def test_placeholder_shapes(name: str, data: bytes) -> None:
    assert placeholder_reason(name, data) is not None


def test_real_files_are_not_placeholders(tmp_path: Path) -> None:
    generate_credentials(tmp_path / "c", device_id="dev-1")
    for name in CREDENTIAL_FILES:
        assert placeholder_reason(name, (tmp_path / "c" / name).read_bytes()) is None
    key = (tmp_path / "c" / PRIVATE_KEY).read_bytes()
    # openssl pkcs12 output: "Bag Attributes" lines around a real block; instructions above a pasted real key.
    assert placeholder_reason(PRIVATE_KEY, b"Bag Attributes\n    localKeyID: 01 02\nKey Attributes: <No Attributes>\n"
                              + key) is None
    assert placeholder_reason(PRIVATE_KEY, b"Replace this file with your private key (REQUIRED)\n" + key) is None
    assert placeholder_reason(PASS_FILE, b"correct horse battery staple") is None
    assert placeholder_reason(PASS_FILE, b"") is None
    assert placeholder_reason(PASS_FILE, b"secret\n") is None  # a newline is its own finding (pass-newline)


def test_explain_of_4352_points_at_placeholders() -> None:
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", "explain", "failed to parse private key -4352"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "placeholder" in done.stdout
    assert "hatch-meadow generate --force" in done.stdout
