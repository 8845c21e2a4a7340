"""Artifacts checked by content, not by name (issue #10 F2): a key under any name never reaches an sdist or wheel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import hatchling_build
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from hatch_meadow.secretscan import classify

Project = Callable[..., Path]
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _der(fmt: serialization.PrivateFormat, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return EC_KEY.private_bytes(serialization.Encoding.DER, fmt, encryption)


@pytest.mark.parametrize(("data", "what"), [
    (EC_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()), "a PEM PRIVATE KEY block"),
    (EC_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.BestAvailableEncryption(b"pass1234")), "a PEM EC PRIVATE KEY block"),
    (_der(serialization.PrivateFormat.PKCS8), "a DER private key"),
    (_der(serialization.PrivateFormat.TraditionalOpenSSL), "a DER private key"),
    (_der(serialization.PrivateFormat.TraditionalOpenSSL) + b"\0", "a DER private key"),
    (_der(serialization.PrivateFormat.PKCS8, b"pass1234"), "an encrypted DER private key"),
    (rsa.generate_private_key(65537, 2048).private_bytes(serialization.Encoding.DER,
                                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                                         serialization.NoEncryption()), "a DER private key"),
    (pkcs12.serialize_key_and_certificates(b"x", EC_KEY, None, None, serialization.BestAvailableEncryption(b"pw")),
     "a PKCS#12 (PFX) file"),
])
def test_key_material_is_found_whatever_the_file_is_called(data: bytes, what: str) -> None:
    assert (classify("notes.txt", data) or "").startswith(what)


@pytest.mark.parametrize("data", [b"", b"hello", b"0\x03\x02\x01\x00", b"MZ\x90\x00" + bytes(500),
                                  b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"])
def test_ordinary_files_are_not_flagged(data: bytes) -> None:
    assert classify("App.dll", data) is None


def test_pass_files_by_name_and_given_secrets_by_bytes() -> None:
    assert classify("x/private_key_pass.txt", b"whatever") == "a pass file (by its name)"
    assert classify("log.txt", b"... hunter2hunter2 ...", [b"hunter2hunter2"]) is not None
    assert classify("log.txt", b"... abc ...", [b"abc"]) is None  # too short to search for


@pytest.mark.parametrize("name", ["notes.txt", "MeadowApp/.private_key.pem.x1y2.new", "MeadowApp/key.der"])
def test_sdist_refuses_a_key_under_any_name(project: Project, name: str) -> None:
    root = project('device-id = "dev-001"\n')
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".der"):
        target.write_bytes(_der(serialization.PrivateFormat.PKCS8))
    else:
        target.write_bytes(EC_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    run = hatchling_build(root, target="sdist")
    assert run.returncode != 0
    assert "the sdist would contain private-key material" in run.output
    assert name in run.output
    assert "BEGIN" not in run.output
    assert run.artifacts == []


def test_wheel_with_a_renamed_key_is_deleted(project: Project) -> None:
    root = project('credentials = "off"\n', extra_toml="""
        [tool.hatch.build.targets.wheel.force-include]
        "data/readme.txt" = "pkg/readme.txt"
        """)
    (root / "data").mkdir()
    (root / "data" / "readme.txt").write_bytes(EC_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    run = hatchling_build(root)
    assert run.returncode != 0
    assert "pkg/readme.txt (a PEM EC PRIVATE KEY block)" in run.output
    assert run.artifacts == []
