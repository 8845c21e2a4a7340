"""RSA key consistency is checked once, as Mbed TLS checks it (issue #9 item 5): arithmetic, no primality test."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hatch_meadow.creds.generate import generate_credentials
from hatch_meadow.creds.keycheck import load_key_der
from hatch_meadow.creds.validate import check_credentials
from hatch_meadow.mbedtls_oracle import RealMbedTLS

KEY = rsa.generate_private_key(65537, 2048)


def _tampered(field: str) -> bytes:
    n = KEY.private_numbers()
    values = {"p": n.p, "q": n.q, "d": n.d, "dmp1": n.dmp1, "dmq1": n.dmq1, "iqmp": n.iqmp}
    values[field] += 2
    broken = rsa.RSAPrivateNumbers(public_numbers=n.public_numbers, **values)
    key = broken.private_key(unsafe_skip_rsa_key_validation=True)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def test_a_consistent_key_loads() -> None:
    der = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert isinstance(load_key_der(der), rsa.RSAPrivateKey)


@pytest.mark.parametrize("field", ["d", "dmp1", "dmq1", "iqmp"])
def test_an_inconsistent_key_is_refused(tmp_path: Path, field: str, real_mbedtls: RealMbedTLS) -> None:
    """Numbers that do not fit together cannot sign. Real Mbed TLS 2.28.8 parses some of them anyway (it checks
    no more at parse time), so this is one place where `check` is stricter than the library, on purpose."""
    generate_credentials(tmp_path, device_id="dev-1", key_type="rsa-2048", key_encryption="none")
    pem = _tampered(field)
    (tmp_path / "private_key.pem").write_bytes(pem)
    report = check_credentials(tmp_path, profile="mbedtls-2.28")
    assert report.parse == "reject"
    assert report.to_json()["usable"] is False
    real_mbedtls.parse_key(pem, None)  # whatever it says, it does not raise
