"""`check_credentials` and `hatch-meadow check`: the prediction, every finding, and parsers that never raise."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hatch_meadow.cli import main
from hatch_meadow.creds import legacypem
from hatch_meadow.creds.certbuild import build_client_certificate
from hatch_meadow.creds.certcheck import CertVerdict, check_certificate
from hatch_meadow.creds.generate import encode_key, generate_credentials
from hatch_meadow.creds.keycheck import KeyVerdict, check_key
from hatch_meadow.creds.pem import PemRead, decode_base64, read_block
from hatch_meadow.creds.profiles import PROFILES
from hatch_meadow.creds.validate import CredentialReport, check_credentials
from hatch_meadow.errors import InputError
from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PASS_FILE, PRIVATE_KEY

DEVICE = "meadow-test-01"
PASSPHRASE = b"correct-horse-battery-staple"
CONTRACT_KEYS = {"ok", "parse", "pair", "profile", "findings", "thumbprints"}
FINDING_KEYS = {"code", "severity", "file", "message", "fix"}


def make(directory: Path, *, key_type: str = "ec-p256", encryption: str = "aes-256", device_id: str = DEVICE,
         days: int = 365, now: datetime | None = None) -> Path:
    """A generated credential set (fixed passphrase) in ``directory``."""
    generate_credentials(directory, device_id=device_id, key_type=key_type, key_encryption=encryption, days=days,
                         passphrase=None if encryption == "none" else PASSPHRASE, passphrase_source="test", now=now)
    return directory


def summary(report: CredentialReport) -> list[tuple[str, str, str | None]]:
    """(code, severity, file) of every finding, in order."""
    return [(f.code, f.severity, f.file) for f in report.findings]


def openssl(*args: str) -> None:
    """Run the real OpenSSL CLI, which must succeed."""
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


@dataclass
class Run:
    """One in-process CLI run."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """`hatch-meadow` in-process, from a folder without a pyproject.toml."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


# --- the JSON contract -------------------------------------------------------------------------------------------


def test_check_json_contract_for_good_credentials(cli: Callable[..., Run], tmp_path: Path) -> None:
    """Good credentials: exit 0, the documented keys, no findings, the certificate's thumbprints."""
    creds = make(tmp_path / "creds")
    expected = check_credentials(creds).certificate
    assert expected is not None
    run = cli("check", "--dir", str(creds), "--json")
    assert run.code == 0, run.err
    report = run.json
    assert set(report) >= CONTRACT_KEYS
    assert (report["ok"], report["parse"], report["pair"], report["profile"], report["findings"]) == (
        True, "accept", "match", "meadow-f7", [])
    assert report["thumbprints"] == {"sha1": expected.sha1, "sha256": expected.sha256}


def test_check_json_findings_have_contract_fields_and_exit_1(cli: Callable[..., Run], tmp_path: Path) -> None:
    """Findings: exit 1, ok false, and every finding has exactly code, severity, file, message, fix."""
    creds = make(tmp_path / "creds")
    (creds / PASS_FILE).write_bytes(b"wrong-passphrase")
    run = cli("check", "--dir", str(creds), "--json")
    assert run.code == 1
    report = run.json
    assert (report["ok"], report["parse"], report["pair"]) == (False, "reject", "n/a")
    findings = report["findings"]
    assert isinstance(findings, list)
    assert [set(f) for f in findings] == [FINDING_KEYS]
    assert (findings[0]["code"], findings[0]["severity"], findings[0]["file"]) == (
        "pass-wrong", "error", PASS_FILE)
    assert isinstance(findings[0]["message"], str)
    assert isinstance(findings[0]["fix"], str)
    assert set(report["thumbprints"]) == {"sha1", "sha256"}


def test_check_json_thumbprints_null_without_certificate(cli: Callable[..., Run], tmp_path: Path) -> None:
    """No readable certificate: thumbprints is null."""
    creds = make(tmp_path / "creds")
    (creds / CLIENT_CERT).unlink()
    run = cli("check", "--dir", str(creds), "--json")
    assert run.code == 1
    assert run.json["thumbprints"] is None
    assert [f["code"] for f in run.json["findings"]] == ["cert-missing"]


def test_check_cli_profile_option_selects_profile(cli: Callable[..., Run], tmp_path: Path) -> None:
    """--profile portable rejects a DES3 key (exit 1) that the default profile accepts (exit 0)."""
    creds = make(tmp_path / "creds", encryption="des3")
    assert cli("check", "--dir", str(creds), "--json").code == 0
    run = cli("check", "--dir", str(creds), "--profile", "portable", "--json")
    assert run.code == 1
    assert (run.json["profile"], run.json["parse"]) == ("portable", "reject")
    assert [f["code"] for f in run.json["findings"]] == ["key-des-unavailable"]


def test_check_cli_unknown_profile_is_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    """An unknown --profile is a usage error (exit 2)."""
    run = cli("check", "--dir", str(make(tmp_path / "creds")), "--profile", "mbedtls-9")
    assert run.code == 2
    assert "mbedtls-9" in run.err


# --- strict ------------------------------------------------------------------------------------------------------


def test_check_strict_turns_warning_into_failure(cli: Callable[..., Run], tmp_path: Path) -> None:
    """A warning alone exits 0 with ok true; with --strict it exits 1 with ok false."""
    creds = make(tmp_path / "creds", encryption="none")
    (creds / PASS_FILE).unlink()
    relaxed = cli("check", "--dir", str(creds), "--json")
    strict = cli("check", "--dir", str(creds), "--strict", "--json")
    assert (relaxed.code, relaxed.json["ok"]) == (0, True)
    assert (strict.code, strict.json["ok"]) == (1, False)
    assert strict.json["findings"] == relaxed.json["findings"]


def test_check_credentials_strict_flag_sets_ok(tmp_path: Path) -> None:
    """check_credentials(strict=True) reports ok False for warnings only."""
    creds = make(tmp_path / "creds")
    assert check_credentials(creds, device_id="another-device").ok is True
    assert check_credentials(creds, device_id="another-device", strict=True).ok is False


def test_check_credentials_unknown_profile_raises_input_error(tmp_path: Path) -> None:
    """An unknown profile name is an InputError naming it."""
    with pytest.raises(InputError, match="unknown profile 'mbedtls-9'"):
        check_credentials(make(tmp_path / "creds"), profile="mbedtls-9")


# --- file-level findings -----------------------------------------------------------------------------------------


def test_check_cleared_files_warn_and_parse_accept(tmp_path: Path) -> None:
    """Three empty files: a `cleared` warning, parse accept, ok."""
    for name in CREDENTIAL_FILES:
        (tmp_path / name).write_bytes(b"")
    report = check_credentials(tmp_path)
    assert summary(report) == [("cleared", "warning", None)]
    assert (report.parse, report.pair, report.cleared, report.ok) == ("accept", "n/a", True, True)


@pytest.mark.parametrize("exists", [True, False], ids=["empty-folder", "no-folder"])
def test_check_missing_credentials_is_error(tmp_path: Path, exists: bool) -> None:
    """No credential files at all: credentials-missing, parse reject."""
    folder = tmp_path / "creds"
    if exists:
        folder.mkdir()
    report = check_credentials(folder)
    assert summary(report) == [("credentials-missing", "error", None)]
    assert (report.parse, report.pair, report.ok) == ("reject", "n/a", False)


def test_check_placeholder_key_is_error(tmp_path: Path) -> None:
    """A text placeholder instead of the key: key-placeholder, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PRIVATE_KEY).write_text("REPLACE THIS FILE with your private key\n")
    report = check_credentials(creds)
    assert summary(report) == [("key-placeholder", "error", PRIVATE_KEY)]
    assert (report.parse, report.pair) == ("reject", "n/a")


def test_check_placeholder_cert_is_error(tmp_path: Path) -> None:
    """A text placeholder instead of the certificate: cert-placeholder, parse reject, no thumbprints."""
    creds = make(tmp_path / "creds")
    (creds / CLIENT_CERT).write_text("replace this file with client_cert.pem\n")
    report = check_credentials(creds)
    assert summary(report) == [("cert-placeholder", "error", CLIENT_CERT)]
    assert (report.parse, report.pair, report.certificate) == ("reject", "n/a", None)


def test_check_empty_key_is_error(tmp_path: Path) -> None:
    """An empty key next to a real certificate: key-empty, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PRIVATE_KEY).write_bytes(b"")
    report = check_credentials(creds)
    assert summary(report) == [("key-empty", "error", PRIVATE_KEY)]
    assert (report.parse, report.pair) == ("reject", "n/a")


def test_check_binary_garbage_key_is_error(tmp_path: Path) -> None:
    """Binary bytes that are neither PEM nor DER: key-garbage, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PRIVATE_KEY).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    report = check_credentials(creds)
    assert summary(report) == [("key-garbage", "error", PRIVATE_KEY)]
    assert (report.parse, report.pair) == ("reject", "n/a")


def test_check_directory_instead_of_key_is_file_unusable(tmp_path: Path) -> None:
    """A folder named private_key.pem: file-unusable for that file, parse reject, no key-missing on top."""
    creds = make(tmp_path / "creds")
    (creds / PRIVATE_KEY).unlink()
    (creds / PRIVATE_KEY).mkdir()
    report = check_credentials(creds)
    assert summary(report) == [("file-unusable", "error", PRIVATE_KEY)]
    assert "is a directory" in report.findings[0].message
    assert (report.parse, report.pair) == ("reject", "n/a")


@pytest.mark.parametrize("size", [4095, 4096])
def test_check_large_key_file_warns_from_4_kib(tmp_path: Path, size: int) -> None:
    """A key file padded with a comment line (which Mbed TLS skips) warns file-large at 4096 bytes."""
    creds = make(tmp_path / "creds")
    pem = (creds / PRIVATE_KEY).read_bytes()
    padding = b"# " + b"x" * (size - len(pem) - 3) + b"\n"
    (creds / PRIVATE_KEY).write_bytes(padding + pem)
    assert (creds / PRIVATE_KEY).stat().st_size == size
    report = check_credentials(creds)
    assert (report.parse, report.pair) == ("accept", "match")
    expected = [("file-large", "warning", PRIVATE_KEY)] if size >= 4096 else []
    assert summary(report) == expected


# --- pass file ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encryption", ["aes-256", "des3"])
@pytest.mark.parametrize("suffix", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_check_pass_file_trailing_newline_is_error(tmp_path: Path, encryption: str, suffix: bytes) -> None:
    """A pass file ending in LF or CRLF: pass-trailing-newline on private_key_pass.txt, parse reject."""
    creds = make(tmp_path / "creds", encryption=encryption)
    (creds / PASS_FILE).write_bytes(PASSPHRASE + suffix)
    report = check_credentials(creds)
    assert summary(report) == [("pass-trailing-newline", "error", PASS_FILE)]
    assert (report.parse, report.pair) == ("reject", "n/a")
    assert ("CRLF" if suffix == b"\r\n" else "LF") in report.findings[0].message


def test_check_wrong_passphrase_is_error(tmp_path: Path) -> None:
    """A pass file that does not decrypt the key: pass-wrong, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PASS_FILE).write_bytes(b"not-the-passphrase")
    report = check_credentials(creds)
    assert summary(report) == [("pass-wrong", "error", PASS_FILE)]
    assert (report.parse, report.pair) == ("reject", "n/a")


def test_check_encrypted_key_without_pass_file_is_error(tmp_path: Path) -> None:
    """An encrypted key with no pass file at all: pass-missing error, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PASS_FILE).unlink()
    report = check_credentials(creds)
    assert [(f.code, f.severity) for f in report.findings] == [("pass-missing", "error")]
    assert (report.parse, report.pair, report.encrypted) == ("reject", "n/a", True)


def test_check_encrypted_key_with_empty_pass_file_is_error(tmp_path: Path) -> None:
    """An encrypted key with an empty pass file: pass-empty error, parse reject."""
    creds = make(tmp_path / "creds")
    (creds / PASS_FILE).write_bytes(b"")
    report = check_credentials(creds)
    assert [(f.code, f.severity) for f in report.findings] == [("pass-empty", "error")]
    assert (report.parse, report.pair) == ("reject", "n/a")


def test_check_plain_key_without_pass_file_warns(tmp_path: Path) -> None:
    """An unencrypted key with no pass file: pass-missing warning (stale passphrase), parse accept."""
    creds = make(tmp_path / "creds", encryption="none")
    (creds / PASS_FILE).unlink()
    report = check_credentials(creds)
    assert summary(report) == [("pass-missing", "warning", PASS_FILE)]
    assert (report.parse, report.pair, report.ok) == ("accept", "match", True)


# --- certificate findings ----------------------------------------------------------------------------------------


def test_check_expired_certificate_is_error(tmp_path: Path) -> None:
    """A certificate that ended in 2020: cert-expired error, but it still parses and pairs."""
    creds = make(tmp_path / "creds", days=30, now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    report = check_credentials(creds)
    assert summary(report) == [("cert-expired", "error", CLIENT_CERT)]
    assert (report.parse, report.pair, report.ok) == ("accept", "match", False)


def test_check_expired_is_relative_to_now(tmp_path: Path) -> None:
    """now= past not_after makes a fresh certificate expired."""
    creds = make(tmp_path / "creds", days=30)
    report = check_credentials(creds, now=datetime.now(timezone.utc) + timedelta(days=31))
    assert summary(report) == [("cert-expired", "error", CLIENT_CERT)]


def test_check_not_yet_valid_certificate_is_error(tmp_path: Path) -> None:
    """A certificate starting in 30 days: cert-not-yet-valid error."""
    creds = make(tmp_path / "creds", now=datetime.now(timezone.utc) + timedelta(days=30))
    report = check_credentials(creds)
    assert summary(report) == [("cert-not-yet-valid", "error", CLIENT_CERT)]
    assert (report.parse, report.pair) == ("accept", "match")


@pytest.mark.parametrize(("renew_before_days", "expected"), [
    (30, [("cert-expiring", "warning", CLIENT_CERT)]),
    (10, []),
])
def test_check_expiring_certificate_warns_within_renew_window(
        tmp_path: Path, renew_before_days: int, expected: list[tuple[str, str, str]]) -> None:
    """20 days before not_after: cert-expiring with a 30-day window, nothing with a 10-day one."""
    start = datetime.now(timezone.utc).replace(microsecond=0)
    creds = make(tmp_path / "creds", days=365, now=start)
    report = check_credentials(creds, renew_before_days=renew_before_days, now=start + timedelta(days=345))
    assert summary(report) == expected
    assert (report.parse, report.pair, report.ok) == ("accept", "match", True)


def test_check_cn_differing_from_device_id_warns(tmp_path: Path) -> None:
    """CN != device id: cert-cn-mismatch warning; the right id: no finding."""
    creds = make(tmp_path / "creds")
    report = check_credentials(creds, device_id="another-device")
    assert summary(report) == [("cert-cn-mismatch", "warning", CLIENT_CERT)]
    assert (report.parse, report.pair) == ("accept", "match")
    assert check_credentials(creds, device_id=DEVICE).findings == []


def test_check_cert_of_another_key_is_mismatch(tmp_path: Path) -> None:
    """A certificate of another key: cert-key-mismatch error, pair mismatch (parse itself accepts)."""
    creds = make(tmp_path / "creds")
    other = make(tmp_path / "other")
    shutil.copyfile(other / CLIENT_CERT, creds / CLIENT_CERT)
    report = check_credentials(creds)
    assert summary(report) == [("cert-key-mismatch", "error", CLIENT_CERT)]
    assert (report.parse, report.pair) == ("accept", "mismatch")


def test_check_cert_of_rsa_key_against_ec_key_is_mismatch(tmp_path: Path) -> None:
    """Different key types are a mismatch too."""
    creds = make(tmp_path / "creds")
    other = make(tmp_path / "other", key_type="rsa-2048")
    shutil.copyfile(other / CLIENT_CERT, creds / CLIENT_CERT)
    report = check_credentials(creds)
    assert report.pair == "mismatch"
    assert [f.code for f in report.findings] == ["cert-key-mismatch"]


def test_check_two_certificates_leaf_first_warns_and_pairs(tmp_path: Path) -> None:
    """Leaf then another certificate: cert-multiple warning, pair match."""
    creds = make(tmp_path / "creds")
    other = make(tmp_path / "other")
    (creds / CLIENT_CERT).write_bytes((creds / CLIENT_CERT).read_bytes() + (other / CLIENT_CERT).read_bytes())
    report = check_credentials(creds)
    assert summary(report) == [("cert-multiple", "warning", CLIENT_CERT)]
    assert (report.parse, report.pair, report.ok) == ("accept", "match", True)


def test_check_ca_first_bundle_is_mismatch(tmp_path: Path) -> None:
    """Another certificate before the leaf: the board uses the first, so pair mismatch."""
    creds = make(tmp_path / "creds")
    other = make(tmp_path / "other")
    (creds / CLIENT_CERT).write_bytes((other / CLIENT_CERT).read_bytes() + (creds / CLIENT_CERT).read_bytes())
    report = check_credentials(creds)
    assert summary(report) == [("cert-multiple", "warning", CLIENT_CERT),
                               ("cert-key-mismatch", "error", CLIENT_CERT)]
    assert (report.parse, report.pair) == ("accept", "mismatch")


# --- OpenSSL 3 defaults ------------------------------------------------------------------------------------------


def test_check_openssl3_genpkey_aes256_needs_mbedtls_36(tmp_path: Path) -> None:
    """`openssl genpkey -aes256` (PKCS#8 PBES2 AES) is key-pbes2-aes on meadow-f7 and accepted on mbedtls-3.6."""
    key, cert = tmp_path / PRIVATE_KEY, tmp_path / CLIENT_CERT
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256", "-pass", "pass:P",
            "-out", str(key))
    openssl("req", "-x509", "-new", "-key", str(key), "-passin", "pass:P", "-subj", f"/CN={DEVICE}", "-days", "365",
            "-sha256", "-out", str(cert))
    (tmp_path / PASS_FILE).write_bytes(b"P")
    (tmp_path / PASS_FILE).chmod(0o600)  # as the key; check warns about a secret others can read
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    meadow = check_credentials(tmp_path)
    assert summary(meadow) == [("key-pbes2-aes", "error", PRIVATE_KEY)]
    assert meadow.parse == "reject"
    newer = check_credentials(tmp_path, profile="mbedtls-3.6", device_id=DEVICE)
    assert (newer.parse, newer.pair, newer.findings) == ("accept", "match", [])


# --- bugs: check_key must predict, never raise -------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    head = bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + head + body


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(p) for p in dotted.split("."))
    out = bytearray([40 * first + second])
    for number in rest:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _pem(label: str, der: bytes) -> bytes:
    text = base64.b64encode(der).decode()
    lines = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


DES_EDE3_CBC = "1.2.840.113549.3.7"


def _pbes2_key(*, iv: bytes = b"\x01" * 8, iterations: bytes = b"\x08\x00", with_data: bool = True) -> bytes:
    """An ENCRYPTED PRIVATE KEY: PBES2, PBKDF2-HMAC-SHA1, DES-EDE3-CBC (what meadow-f7 supports)."""
    kdf = _seq(_oid("1.2.840.113549.1.5.12"), _seq(_tlv(0x04, b"saltsalt"), _tlv(0x02, iterations)))
    scheme = _seq(_oid("1.2.840.113549.1.5.13"), _seq(kdf, _seq(_oid(DES_EDE3_CBC), _tlv(0x04, iv))))
    return _pem("ENCRYPTED PRIVATE KEY", _seq(scheme, _tlv(0x04, b"\x00" * 32)) if with_data else _seq(scheme))


def assert_rejected(verdict: KeyVerdict) -> None:
    assert verdict.accepted is False
    assert [f.severity for f in verdict.findings][:1] == ["error"]


def test_check_key_pbes2_well_formed_but_wrong_password_is_pass_wrong() -> None:
    """The hand-built PBES2 key itself is sound: garbage ciphertext reads as pass-wrong."""
    verdict = check_key(_pbes2_key(), b"pw", PROFILES["meadow-f7"])
    assert [f.code for f in verdict.findings] == ["pass-wrong"]
    assert verdict.encoding == "PKCS#8 PBES2 PBKDF2-hmacWithSHA1, des-ede3-cbc"


def test_check_key_encrypted_pkcs8_without_data_is_rejected() -> None:
    """An EncryptedPrivateKeyInfo holding only the algorithm is a reject (key-invalid), not an IndexError."""
    assert_rejected(check_key(_pbes2_key(with_data=False), b"pw", PROFILES["meadow-f7"]))


def test_check_key_pbes2_iv_of_wrong_length_is_rejected() -> None:
    """PBES2 DES-EDE3-CBC with a 16-byte IV is rejected (Mbed TLS checks the IV length), not a ValueError."""
    assert_rejected(check_key(_pbes2_key(iv=b"\x01" * 16), b"pw", PROFILES["meadow-f7"]))


@pytest.mark.parametrize("iterations", [b"\x00", b"\x01" + b"\x00" * 9], ids=["zero", "80-bit"])
def test_check_key_pbkdf2_bad_iteration_count_is_rejected(iterations: bytes) -> None:
    """PBKDF2 with 0 or an absurd iteration count is rejected, not an exception."""
    assert_rejected(check_key(_pbes2_key(iterations=iterations), b"pw", PROFILES["meadow-f7"]))


def _sec1_with_broken_curve_parameters() -> bytes:
    """A P-256 SEC1 key whose [0] parameters claim a 9-byte OID but hold 8 bytes."""
    der = encode_key(ec.derive_private_key(7, ec.SECP256R1()), "none", None)
    body = read_block(der, "EC PRIVATE KEY").body
    assert body is not None
    named = b"\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
    assert named in body
    return _pem("EC PRIVATE KEY", body.replace(named, b"\xa0\x0a\x06\x09" + named[4:]))


def test_check_key_sec1_malformed_curve_parameters_is_rejected() -> None:
    """An EC key whose curve parameters do not parse is rejected (key-invalid), not a DerError."""
    assert_rejected(check_key(_sec1_with_broken_curve_parameters(), None, PROFILES["meadow-f7"]))


@pytest.fixture
def prime239v1_key(tmp_path: Path) -> dict[str, bytes]:
    """An OpenSSL key on X9.62 prime239v1 (a curve neither Mbed TLS nor cryptography has), as SEC1 and PKCS#8."""
    sec1, pkcs8 = tmp_path / "sec1.pem", tmp_path / "pkcs8.pem"
    openssl("ecparam", "-name", "prime239v1", "-genkey", "-noout", "-out", str(sec1))
    openssl("pkey", "-in", str(sec1), "-out", str(pkcs8))
    return {"sec1": sec1.read_bytes(), "pkcs8": pkcs8.read_bytes()}


@pytest.mark.parametrize("form", ["sec1", "pkcs8"])
def test_check_key_unsupported_named_curve_is_rejected(prime239v1_key: dict[str, bytes], form: str) -> None:
    """An EC key on a curve Mbed TLS lacks (prime239v1) is rejected, not an UnsupportedAlgorithm exception."""
    assert_rejected(check_key(prime239v1_key[form], None, PROFILES["meadow-f7"]))


def test_check_cli_unsupported_named_curve_exits_1(cli: Callable[..., Run], tmp_path: Path,
                                                   prime239v1_key: dict[str, bytes]) -> None:
    """`check` on a key with an unsupported curve reports findings (exit 1), not a bug (exit 70)."""
    creds = make(tmp_path / "creds", encryption="none")
    (creds / PRIVATE_KEY).write_bytes(prime239v1_key["sec1"])
    run = cli("check", "--dir", str(creds), "--json")
    assert run.code == 1


# --- hypothesis properties ---------------------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LABELS = ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "CERTIFICATE"]
PEM_PIECES = [
    *(f"-----BEGIN {label}-----".encode() for label in LABELS),
    *(f"-----END {label}-----".encode() for label in LABELS),
    b"\n", b"\r\n", b" ", b"\r", b"Proc-Type: 4,ENCRYPTED", b"DEK-Info: AES-256-CBC,", b"DEK-Info: DES-EDE3-CBC,",
    b"DEK-Info: DES-CBC,", b"DEK-Info: CAMELLIA-256-CBC,", b"00112233445566778899AABBCCDDEEFF", b"0011223344556677",
    b"MIIB", b"MHcCAQEE", b"AAAA", b"=", b"==", b"zz+/",
]
pem_like = st.lists(st.sampled_from(PEM_PIECES) | st.binary(max_size=8), max_size=40).map(b"".join)
wrapped_der = st.builds(lambda label, der: _pem(label, der), st.sampled_from(LABELS), st.binary(max_size=600))
any_input = st.binary(max_size=2048) | pem_like | wrapped_der
profiles = st.sampled_from(sorted(PROFILES))
passwords = st.none() | st.sampled_from([b"", PASSPHRASE, b"wrong", PASSPHRASE + b"\n"]) | st.binary(max_size=40)
Mutation = tuple[str, int, int]
mutations = st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 1 << 16),
                               st.integers(0, 255)), min_size=1, max_size=6)


def mutate(data: bytes, edits: list[Mutation]) -> bytes:
    """Apply bit flips, byte insertions and deletions at positions taken modulo the length."""
    out = bytearray(data)
    for op, position, value in edits:
        i = position % (len(out) + 1)
        if op == "flip" and i < len(out):
            out[i] ^= 1 << (value % 8)
        elif op == "insert":
            out.insert(i, value)
        elif op == "delete" and i < len(out):
            del out[i]
    return bytes(out)


@cache
def rsa_seeds() -> dict[str, bytes]:
    """An RSA-2048 key as plain, AES-256 and DES3 legacy PEM, and its certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = build_client_certificate(key, DEVICE, 365, datetime.now(timezone.utc))
    return {
        "rsa-none": encode_key(key, "none", None),
        "rsa-aes-256": encode_key(key, "aes-256", PASSPHRASE),
        "rsa-des3": encode_key(key, "des3", PASSPHRASE),
        "rsa-cert": cert.pem,
    }


@cache
def ec_seeds() -> dict[str, bytes]:
    """A fixed P-256 key as plain, AES-256 and DES3 legacy PEM (fixed IVs: the same bytes every run), and a cert."""
    key = ec.derive_private_key(int.from_bytes(b"MeadowTest Key", "big"), ec.SECP256R1())
    der = read_block(encode_key(key, "none", None), "EC PRIVATE KEY").body
    assert der is not None
    cert = build_client_certificate(key, DEVICE, 365, datetime.now(timezone.utc))
    return {
        "ec-none": encode_key(key, "none", None),
        "ec-aes-256": legacypem.encrypt(der, "EC PRIVATE KEY", PASSPHRASE, "AES-256-CBC", iv=bytes(range(16))),
        "ec-des3": legacypem.encrypt(der, "EC PRIVATE KEY", PASSPHRASE, "DES-EDE3-CBC", iv=bytes(range(8))),
        "ec-cert": cert.pem,
    }


@PROPERTY
@given(data=any_input, label=st.sampled_from(LABELS), start=st.integers(0, 64))
def test_pem_read_block_never_raises(data: bytes, label: str, start: int) -> None:
    """read_block returns a PemRead for any bytes; an ok block always has a body, an encrypted one an IV."""
    block = read_block(data, label, start)
    assert isinstance(block, PemRead)
    assert block.status in ("ok", "absent", "invalid", "unknown-cipher")
    if block.status == "ok":
        assert block.body
        assert (block.iv is not None) is block.encrypted


@PROPERTY
@given(data=any_input)
def test_pem_decode_base64_never_raises(data: bytes) -> None:
    """decode_base64 returns bytes or None for any input."""
    result = decode_base64(data)
    assert result is None or isinstance(result, bytes)


@PROPERTY
@given(payload=st.binary(min_size=1, max_size=300), width=st.integers(4, 120), newline=st.sampled_from(["\n", "\r\n"]))
def test_pem_decode_base64_round_trips_any_line_width(payload: bytes, width: int, newline: str) -> None:
    """Base64 wrapped at any width with LF or CRLF decodes back to the payload."""
    text = base64.b64encode(payload).decode()
    wrapped = newline.join(text[i:i + width] for i in range(0, len(text), width)).encode()
    assert decode_base64(wrapped) == payload


@PROPERTY
@given(data=any_input, password=passwords, profile=profiles)
def test_keycheck_check_key_never_raises_on_arbitrary_bytes(data: bytes, password: bytes | None,
                                                            profile: str) -> None:
    """check_key returns a verdict for any bytes; a rejection always carries an error finding."""
    verdict = check_key(data, password, PROFILES[profile])
    assert isinstance(verdict, KeyVerdict)
    if not verdict.accepted:
        assert any(f.severity == "error" for f in verdict.findings)


@PROPERTY
@given(data=any_input, profile=profiles)
def test_certcheck_check_certificate_never_raises_on_arbitrary_bytes(data: bytes, profile: str) -> None:
    """check_certificate returns a verdict for any bytes; accepted means at least one certificate."""
    verdict = check_certificate(data, PROFILES[profile])
    assert isinstance(verdict, CertVerdict)
    assert not verdict.accepted or verdict.certificates


@PROPERTY
@given(seed=st.sampled_from(["rsa-none", "rsa-aes-256", "rsa-des3"]), edits=mutations, password=passwords,
       profile=profiles)
def test_keycheck_check_key_never_raises_on_mutated_rsa_pem(seed: str, edits: list[Mutation],
                                                            password: bytes | None, profile: str) -> None:
    """Flipped, inserted or deleted bytes in a real RSA key PEM give a verdict, never an exception."""
    verdict = check_key(mutate(rsa_seeds()[seed], edits), password, PROFILES[profile])
    assert isinstance(verdict, KeyVerdict)
    if not verdict.accepted:
        assert any(f.severity == "error" for f in verdict.findings)


@PROPERTY
@example(seed="ec-none", edits=[("flip", 88, 0)], password=None, profile="meadow-f7")
@example(seed="ec-none", edits=[("flip", 87, 1)], password=None, profile="meadow-f7")
@given(seed=st.sampled_from(["ec-none", "ec-aes-256", "ec-des3"]), edits=mutations, password=passwords,
       profile=profiles)
def test_keycheck_check_key_never_raises_on_mutated_ec_pem(seed: str, edits: list[Mutation],
                                                           password: bytes | None, profile: str) -> None:
    """Flipped, inserted or deleted bytes in a real EC key PEM give a verdict, never an exception."""
    verdict = check_key(mutate(ec_seeds()[seed], edits), password, PROFILES[profile])
    assert isinstance(verdict, KeyVerdict)


@PROPERTY
@given(seed=st.sampled_from(["rsa-cert", "ec-cert"]), edits=mutations, profile=profiles)
def test_certcheck_check_certificate_never_raises_on_mutated_pem(seed: str, edits: list[Mutation],
                                                                 profile: str) -> None:
    """Flipped, inserted or deleted bytes in a real certificate PEM give a verdict, never an exception."""
    seeds = {**rsa_seeds(), **ec_seeds()}
    verdict = check_certificate(mutate(seeds[seed], edits), PROFILES[profile])
    assert isinstance(verdict, CertVerdict)
    assert not verdict.accepted or verdict.certificates


def test_keycheck_seeds_are_accepted_unmutated() -> None:
    """The property seeds are valid: each key is accepted with the passphrase, each certificate parses."""
    seeds = {**rsa_seeds(), **ec_seeds()}
    for name, data in seeds.items():
        if name.endswith("cert"):
            assert check_certificate(data, PROFILES["meadow-f7"]).accepted, name
        else:
            assert check_key(data, PASSPHRASE, PROFILES["meadow-f7"]).accepted, name


@PROPERTY
@given(der=st.binary(max_size=300), password=st.binary(min_size=1, max_size=64),
       cipher=st.sampled_from(sorted(legacypem.LEGACY_CIPHERS)), label=st.sampled_from(LABELS[:2]))
def test_legacypem_encrypt_read_decrypt_round_trips(der: bytes, password: bytes, cipher: str, label: str) -> None:
    """legacypem.encrypt -> pem.read_block -> legacypem.decrypt gives back the bytes, for every DEK-Info cipher."""
    block = read_block(legacypem.encrypt(der, label, password, cipher), label)
    assert (block.status, block.encrypted, block.dek_name) == ("ok", True, cipher)
    assert block.body is not None
    assert block.iv is not None
    assert len(block.iv) == legacypem.LEGACY_CIPHERS[cipher].iv_size
    assert legacypem.decrypt(block.body, password, cipher, block.iv) == der
