"""A certificate's thumbprints as Azure and ``openssl x509 -fingerprint`` give them: uppercase hex digests of
the DER bytes, and the PEM text of those bytes."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes


def digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    """``data``'s digest from cryptography, which the key code has loaded already (hashlib would add ~2 ms
    to the start of `generate`, a short command)."""
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


def sha1_thumbprint(der: bytes) -> str:
    """Uppercase hex SHA-1 of the DER certificate (Azure's older thumbprint)."""
    return digest(hashes.SHA1(), der).hex().upper()


def sha256_thumbprint(der: bytes) -> str:
    """Uppercase hex SHA-256 of the DER certificate (Azure's thumbprint)."""
    return digest(hashes.SHA256(), der).hex().upper()


def certificate_pem(der: bytes) -> bytes:
    """The DER certificate as PEM, 64 base64 characters a line."""
    body = base64.b64encode(der)
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"
