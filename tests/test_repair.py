"""`hatch-meadow fix` and `import-pfx` on real OpenSSL-made inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hatch_meadow.cli import main
from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.validate import check_credentials


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def public_numbers(key_file: Path, password: bytes | None) -> object:
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=password)
    return key.public_key().public_numbers()


@pytest.fixture(name="openssl3_set")
def _openssl3_set(tmp_path: Path) -> Path:
    """OpenSSL 3 defaults the board rejects: PKCS#8 PBES2-AES key, and a pass file written with echo."""
    openssl("genrsa", "-aes256", "-passout", "pass:Secret1", "-out", "private_key.pem", "2048", cwd=tmp_path)
    openssl("req", "-x509", "-new", "-key", "private_key.pem", "-passin", "pass:Secret1", "-subj", "/CN=dev-9",
            "-days", "90", "-out", "client_cert.pem", cwd=tmp_path)
    (tmp_path / "private_key_pass.txt").write_bytes(b"Secret1\n")
    return tmp_path


def test_fix_reencodes_pkcs8_aes_and_strips_newline(openssl3_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The classic 'Failed to parse private key' set becomes acceptable, same key, same passphrase."""
    before = check_credentials(openssl3_set)
    assert before.parse == "reject"
    original = public_numbers(openssl3_set / "private_key.pem", b"Secret1")
    assert main(["fix", "--dir", str(openssl3_set), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["changes"] == [
        "private_key_pass.txt: removed the trailing newline",
        "private_key.pem: re-encoded as legacy PEM AES-256-CBC (same key; passphrase kept)",
    ]
    assert payload["check"]["parse"] == "accept"
    assert payload["check"]["pair"] == "match"
    assert (openssl3_set / "private_key_pass.txt").read_bytes() == b"Secret1"
    assert b"DEK-Info: AES-256-CBC," in (openssl3_set / "private_key.pem").read_bytes()
    assert public_numbers(openssl3_set / "private_key.pem", b"Secret1") == original
    assert oct(os.stat(openssl3_set / "private_key.pem").st_mode & 0o777) == "0o600"
    assert oct(os.stat(openssl3_set / "private_key_pass.txt").st_mode & 0o777) == "0o600"
    assert not (openssl3_set / "private_key.pem.orig").exists()
    assert "Secret1" not in json.dumps(payload)


def test_fix_to_des3_is_read_back_by_openssl(openssl3_set: Path) -> None:
    """--key-encryption des3 writes what the Meadow docs describe, and openssl rsa reads it."""
    assert main(["fix", "--dir", str(openssl3_set), "--key-encryption", "des3"]) == 0
    assert b"DEK-Info: DES-EDE3-CBC," in (openssl3_set / "private_key.pem").read_bytes()
    proc = subprocess.run(["openssl", "rsa", "-in", "private_key.pem", "-passin", "file:private_key_pass.txt",
                           "-check", "-noout"], cwd=openssl3_set, capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "RSA key ok" in proc.stdout


def test_fix_wrong_passphrase_changes_nothing(openssl3_set: Path) -> None:
    """A pass file that opens nothing: exit 2, every byte as it was, no backup left."""
    (openssl3_set / "private_key_pass.txt").write_bytes(b"nope")
    before = snapshot(openssl3_set)
    proc = subprocess.run([sys.executable, "-m", "hatch_meadow", "fix", "--dir", str(openssl3_set)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "cannot be read with the passphrase" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(openssl3_set) == before


def test_fix_uses_passphrase_variable(openssl3_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a usable pass file, the passphrase variable opens the key and is written to the pass file."""
    (openssl3_set / "private_key_pass.txt").unlink()
    monkeypatch.setenv("HATCH_MEADOW_KEY_PASSPHRASE", "Secret1")
    assert main(["fix", "--dir", str(openssl3_set)]) == 0
    assert (openssl3_set / "private_key_pass.txt").read_bytes() == b"Secret1"
    assert check_credentials(openssl3_set).parse == "accept"


def test_fix_der_key_becomes_pem_with_empty_pass_file(tmp_path: Path) -> None:
    """A DER key (rejected from Mbed TLS 3.5 on) becomes unencrypted PEM, plus the empty pass file."""
    openssl("genpkey", "-algorithm", "RSA", "-out", "k.pem", cwd=tmp_path)
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", "k.pem", "-outform", "DER", "-out", "private_key.pem", cwd=tmp_path)
    openssl("req", "-x509", "-new", "-key", "k.pem", "-subj", "/CN=d", "-days", "30", "-out", "client_cert.pem",
            cwd=tmp_path)
    (tmp_path / "k.pem").unlink()
    assert check_credentials(tmp_path).parse == "reject"
    assert main(["fix", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "private_key.pem").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert (tmp_path / "private_key_pass.txt").read_bytes() == b""
    assert check_credentials(tmp_path).parse == "accept"


def test_fix_des3_for_portable_profile(tmp_path: Path) -> None:
    """A DES3 key is fine on meadow-f7 but not portable; fix --profile portable moves it to AES."""
    generate_credentials(tmp_path, device_id="d", key_encryption="des3")
    assert check_credentials(tmp_path, profile="portable").parse == "reject"
    assert main(["fix", "--dir", str(tmp_path), "--profile", "portable"]) == 0
    assert check_credentials(tmp_path, profile="portable").parse == "accept"


def test_fix_good_set_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to repair: nothing written."""
    generate_credentials(tmp_path, device_id="d")
    before = snapshot(tmp_path)
    assert main(["fix", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fix changed nothing" in out
    assert "usable: the board can authenticate with them" in out
    assert snapshot(tmp_path) == before


def test_fix_ed25519_key_cannot_be_repaired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Key material Meadow cannot use stays rejected (exit 1), with nothing changed."""
    openssl("genpkey", "-algorithm", "ED25519", "-out", "private_key.pem", cwd=tmp_path)
    openssl("req", "-x509", "-new", "-key", "private_key.pem", "-subj", "/CN=d", "-days", "30",
            "-out", "client_cert.pem", cwd=tmp_path)
    (tmp_path / "private_key_pass.txt").write_bytes(b"")
    before = snapshot(tmp_path)
    assert main(["fix", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "key-type-unsupported" in out
    assert "still not usable: " in out
    assert snapshot(tmp_path) == before


@pytest.fixture(name="pfx")
def _pfx(tmp_path: Path) -> Path:
    """A PFX with a leaf, its key and a CA certificate, password PfxPass."""
    folder = tmp_path / "src"
    folder.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-subj", "/CN=ca", "-days", "30",
            "-out", "ca.pem", cwd=folder)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-subj", "/CN=pfx-dev", "-out", "leaf.csr",
            cwd=folder)
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
            "-out", "leaf.pem", cwd=folder)
    openssl("pkcs12", "-export", "-inkey", "leaf.key", "-in", "leaf.pem", "-certfile", "ca.pem", "-passout",
            "pass:PfxPass", "-out", "device.pfx", cwd=folder)
    return folder / "device.pfx"


def test_import_pfx_writes_leaf_and_traditional_key(pfx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The PFX becomes three files the board accepts; the CA certificate is left out and said so."""
    monkeypatch.setenv("HATCH_MEADOW_PFX_PASSWORD", "PfxPass")
    out = tmp_path / "out"
    assert main(["import-pfx", str(pfx), "--dir", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["notes"] == ["left out 1 CA certificate(s): the board uses one certificate per client"]
    assert payload["check"]["parse"] == "accept"
    assert payload["check"]["pair"] == "match"
    assert (out / "client_cert.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 1
    assert b"DEK-Info: AES-256-CBC," in (out / "private_key.pem").read_bytes()
    assert (out / "private_key_pass.txt").read_bytes() == b"PfxPass"


def test_import_pfx_wrong_password_writes_nothing(pfx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong PFX password: exit 2 and no files."""
    monkeypatch.setenv("HATCH_MEADOW_PFX_PASSWORD", "wrong")
    out = tmp_path / "out"
    assert main(["import-pfx", str(pfx), "--dir", str(out)]) == 2
    assert not out.exists() or not any(out.iterdir())


def test_import_pfx_refuses_to_overwrite(pfx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Existing credentials are kept unless --force."""
    monkeypatch.setenv("HATCH_MEADOW_PFX_PASSWORD", "PfxPass")
    out = tmp_path / "out"
    generate_credentials(out, device_id="old")
    before = snapshot(out)
    assert main(["import-pfx", str(pfx), "--dir", str(out)]) == 2
    assert snapshot(out) == before
    assert main(["import-pfx", str(pfx), "--dir", str(out), "--force"]) == 0
    assert snapshot(out) != before


def test_import_pfx_missing_file_says_so_before_asking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped PFX path: "no such file" (exit 2), not "no password", and nothing written."""
    monkeypatch.delenv("HATCH_MEADOW_PFX_PASSWORD", raising=False)
    out = tmp_path / "out"
    assert main(["import-pfx", str(tmp_path / "nothere.pfx"), "--dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nothere.pfx: no such file" in err
    assert "password" not in err
    assert not out.exists()
