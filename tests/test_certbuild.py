"""The certificate encoder (`creds/certbuild.py`, issue #9 item 5: `generate` without `cryptography.x509`):
what it writes is the profile `cryptography`'s builder wrote, byte-valid for OpenSSL, cryptography and the
board's checks, including the encodings that only show at the edges."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hatch_meadow.creds import certbuild
from hatch_meadow.creds.certbuild import CertIssuer, build_client_certificate
from hatch_meadow.creds.certcheck import check_certificate
from hatch_meadow.creds.profiles import PROFILES

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def reference(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, device_id: str, days: int) -> x509.Certificate:
    """The same certificate made with cryptography's builder (what `generate` used before)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - timedelta(minutes=5)).not_valid_after(NOW + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


KEYS = {
    "ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "rsa-2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_same_profile_as_cryptographys_builder(kind: str) -> None:
    key = KEYS[kind]()
    built = build_client_certificate(key, "dev-1", 365, NOW)
    mine, theirs = x509.load_der_x509_certificate(built.der), reference(key, "dev-1", 365)
    assert mine.version == x509.Version.v3
    assert mine.subject == mine.issuer == theirs.subject
    assert mine.not_valid_before_utc == theirs.not_valid_before_utc
    assert mine.not_valid_after_utc == theirs.not_valid_after_utc
    assert [(e.oid, e.critical, e.value) for e in mine.extensions] == [
        (e.oid, e.critical, e.value) for e in theirs.extensions]
    assert mine.signature_algorithm_oid == theirs.signature_algorithm_oid
    mine.verify_directly_issued_by(mine)
    assert 0 < mine.serial_number < 2**159
    assert mine.serial_number == built.serial
    assert check_certificate(built.pem, PROFILES["meadow-f7"]).accepted


def test_openssl_reads_it(tmp_path: Path) -> None:
    key = KEYS["ec-p256"]()
    built = build_client_certificate(key, "dev-1", 365, NOW)
    (tmp_path / "c.pem").write_bytes(built.pem)
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "c.pem"), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "Subject: CN = dev-1" in text
    assert "TLS Web Client Authentication" in text
    assert "CA:FALSE" in text
    fingerprint = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "c.pem"), "-noout", "-fingerprint",
                                  "-sha256"], capture_output=True, text=True, check=True).stdout
    assert fingerprint.strip().split("=", 1)[1].replace(":", "") == built.sha256


def test_generalized_time_from_2050_and_long_names() -> None:
    key = KEYS["ec-p256"]()
    long_id = "d" * 64
    built = build_client_certificate(key, long_id, 36500, NOW)  # ends in 2126
    parsed = x509.load_der_x509_certificate(built.der)
    assert parsed.not_valid_after_utc.year == 2126
    assert b"\x18\x0f2126" in built.der  # GeneralizedTime, four-digit year
    assert b"\x17\x0d261204" in built.der  # UTCTime before 2050
    assert parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == long_id


def test_signed_by_a_ca() -> None:
    ca_key = KEYS["ec-p256"]()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fleet CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(7).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=9))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    device_key = KEYS["rsa-2048"]()
    built = build_client_certificate(device_key, "dev-2", 30, NOW, CertIssuer(ca_name.public_bytes(), ca_key,
                                                                              ski.digest))
    parsed = x509.load_der_x509_certificate(built.der)
    assert parsed.issuer == ca_name
    parsed.verify_directly_issued_by(ca)
    aki = parsed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 2**158, 2**159 - 1])
def test_integers_are_minimal_and_positive(value: int) -> None:
    encoded = certbuild._integer(value)
    body = encoded[2:]
    assert int.from_bytes(body, "big", signed=True) == value
    assert len(body) == 1 or not (body[0] == 0 and body[1] < 0x80)
