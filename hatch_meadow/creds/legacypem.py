"""RFC 1421 ("traditional") PEM encryption, as OpenSSL writes it and Mbed TLS reads it.

Key derivation is OpenSSL's ``EVP_BytesToKey`` with MD5, one iteration, and the first 8 IV bytes as
salt; the body is CBC with PKCS#7 padding. cryptography can write this only with AES-256; the Meadow
docs recommend DES-EDE3-CBC, so both directions are implemented here from cryptography primitives.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hatch_meadow.creds.cbc import DecryptError, cbc_decrypt
from hatch_meadow.creds.fingerprints import digest


@dataclass(frozen=True, slots=True)
class LegacyCipher:
    """One DEK-Info cipher: key and IV sizes in bytes."""

    dek_name: str
    key_size: int
    iv_size: int
    needs_des: bool


LEGACY_CIPHERS: Final = {
    c.dek_name: c
    for c in (
        LegacyCipher("AES-128-CBC", 16, 16, needs_des=False),
        LegacyCipher("AES-192-CBC", 24, 16, needs_des=False),
        LegacyCipher("AES-256-CBC", 32, 16, needs_des=False),
        LegacyCipher("DES-EDE3-CBC", 24, 8, needs_des=True),
        LegacyCipher("DES-CBC", 8, 8, needs_des=True),
    )
}
#: Config names (key-encryption) to DEK-Info names.


def bytes_to_key(password: bytes, salt: bytes, size: int) -> bytes:
    """OpenSSL EVP_BytesToKey(MD5, count=1): D_i = MD5(D_{i-1} || password || salt)."""
    out = b""
    block = b""
    while len(out) < size:
        block = digest(hashes.MD5(), block + password + salt)
        out += block
    return out[:size]


def _cipher(spec: LegacyCipher, key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    if spec.needs_des:
        # 3DES with K1=K2=K3 is single DES, which is how DES-CBC is expressed with cryptography.
        triple = key if spec.key_size == 24 else key * 3
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

        return Cipher(TripleDES(triple), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def encrypt(der: bytes, label: str, password: bytes, dek_name: str, *, iv: bytes | None = None) -> bytes:
    """A complete PEM block: ``label`` with Proc-Type/DEK-Info headers and the encrypted ``der``."""
    spec = LEGACY_CIPHERS[dek_name]
    iv = os.urandom(spec.iv_size) if iv is None else iv
    key = bytes_to_key(password, iv[:8], spec.key_size)
    padder = padding.PKCS7(64 if spec.needs_des else 128).padder()
    encryptor = _cipher(spec, key, iv).encryptor()
    body = encryptor.update(padder.update(der) + padder.finalize()) + encryptor.finalize()
    b64 = base64.b64encode(body).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return (
        f"-----BEGIN {label}-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: {dek_name},{iv.hex().upper()}\n\n"
        + "\n".join(lines) + f"\n-----END {label}-----\n"
    ).encode("ascii")


def decrypt(body: bytes, password: bytes, dek_name: str, iv: bytes) -> bytes:
    """Decrypt a legacy PEM body (already base64-decoded) to DER.

    Raises:
        KeyError: unknown cipher; DecryptError: bad padding (wrong password or corrupt body).
    """
    spec = LEGACY_CIPHERS[dek_name]
    if len(iv) != spec.iv_size:
        raise DecryptError("IV length does not fit the cipher")
    return cbc_decrypt(dek_name, bytes_to_key(password, iv[:8], spec.key_size), iv, body)
