"""Issue #9 item 4: verdicts as real Mbed TLS 3.x gives them (spec mbedtls-compat §2.4, §5.3).

On 3.5.2 and 3.6.6 (default configuration, called as the board calls them), X25519 and X448 keys and their
certificates *parse* and the pair check passes, yet such keys cannot sign: `check` says parse accept, pair
match, and a separate verdict that the set is unusable (exit 1, fixed by `generate`). A DER SEC1 EC key (+ the
board's NUL) is accepted by 3.5.2 and 3.6.6. Real 3.x is not installable here, so the 3.x side follows the
spec's measured results; the 2.28 side is checked against the real 2.28.8 library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.x509.oid import NameOID

from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.mbedtls_oracle import RealMbedTLS


def _montgomery_set(folder: Path, kind: str) -> None:
    """A key that cannot sign, and its certificate (issued by a separate EC key, as OpenSSL's -force_pubkey does)."""
    key = x25519.X25519PrivateKey.generate() if kind == "X25519" else x448.X448PrivateKey.generate()
    issuer = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev-1")]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")]))
            .public_key(key.public_key()).serial_number(7).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=90)).sign(issuer, hashes.SHA256()))
    folder.mkdir()
    (folder / "client_cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "private_key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    (folder / "private_key.pem").chmod(0o600)
    (folder / "private_key_pass.txt").write_bytes(b"")


@pytest.mark.parametrize("kind", ["X25519", "X448"])
@pytest.mark.parametrize("profile", ["meadow-f7", "mbedtls-3.6"])
def test_montgomery_keys_parse_on_3x_but_cannot_authenticate(tmp_path: Path, kind: str, profile: str) -> None:
    _montgomery_set(tmp_path / "c", kind)
    report = check_credentials(tmp_path / "c", profile=profile, device_id="dev-1")
    assert (report.parse, report.pair) == ("accept", "match")
    payload = report.to_json()
    assert payload["usable"] is False
    assert payload["usable_reason"].startswith("key-cannot-sign")
    assert [f.fix for f in report.findings if f.code == "key-cannot-sign"] == [
        "generate an RSA-2048 or EC P-256 key: `hatch-meadow generate --force`"]
    run = subprocess.run([sys.executable, "-m", "hatch_meadow", "check", "--dir", "c", "--profile", profile, "--json"],
                         cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert json.loads(run.stdout)["usable"] is False


@pytest.mark.parametrize("kind", ["X25519", "X448"])
def test_montgomery_keys_on_228_are_rejected_as_the_real_library_rejects_them(tmp_path: Path, kind: str,
                                                                            real_mbedtls: RealMbedTLS) -> None:
    _montgomery_set(tmp_path / "c", kind)
    report = check_credentials(tmp_path / "c", profile="mbedtls-2.28")
    real = real_mbedtls.parse_key((tmp_path / "c" / "private_key.pem").read_bytes(), None)
    assert report.parse == "reject"
    assert not real.ok
    assert report.to_json()["usable"] is False


def test_der_sec1_key_is_accepted_on_3x(tmp_path: Path, real_mbedtls: RealMbedTLS) -> None:
    """DER SEC1 (+NUL): accepted by 3.5.2 and 3.6.6 (spec §5.3) and by the real 2.28.8; PKCS#1 DER is 3.6's
    rejection, not SEC1's."""
    from hatch_meadow.creds.generate import generate_credentials

    folder = tmp_path / "c"
    generate_credentials(folder, device_id="dev-1", key_type="ec-p256", key_encryption="none")
    key = serialization.load_pem_private_key((folder / "private_key.pem").read_bytes(), password=None)
    sec1 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    (folder / "private_key.pem").write_bytes(sec1)
    for profile in ("meadow-f7", "mbedtls-3.6", "mbedtls-2.28"):
        report = check_credentials(folder, profile=profile, device_id="dev-1")
        assert (report.parse, report.pair) == ("accept", "match"), profile
        assert report.to_json()["usable"] is True, profile
        assert "key-der" in [f.code for f in report.findings]  # a warning: PEM is the safe form
    assert real_mbedtls.parse_key(sec1, None).ok
    assert check_credentials(folder, profile="portable").parse == "reject"
