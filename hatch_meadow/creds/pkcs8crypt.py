"""Decrypt PKCS#8 EncryptedPrivateKeyInfo bodies with the exact password bytes, as Mbed TLS does.

cryptography can load most encrypted PKCS#8 keys, but it hides the inner algorithm (it loads an RSA-PSS
key as plain RSA) and widens PKCS#12 passwords the way OpenSSL does, not the way Mbed TLS does. So the
two schemes Mbed TLS supports are decrypted here from primitives: PBES2 (PBKDF2 + DES/3DES/AES-CBC) and
PKCS#12 PBE (RFC 7292 appendix B key derivation + 3DES/2DES or RC4).
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from hatch_meadow.creds import der, oids
from hatch_meadow.creds.cbc import DecryptError, cbc_decrypt

_Hash = type[hashes.SHA1 | hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]
_PRF_HASHES: dict[str, _Hash] = {
    "hmacWithSHA1": hashes.SHA1, "hmacWithSHA224": hashes.SHA224, "hmacWithSHA256": hashes.SHA256,
    "hmacWithSHA384": hashes.SHA384, "hmacWithSHA512": hashes.SHA512,
}


def decrypt_pbes2(params: der.Tlv, data: bytes, password: bytes) -> bytes:
    """PBES2 with PBKDF2 and a CBC cipher. Raises DecryptError."""
    try:
        kdf_alg, enc_alg = params.children()[:2]
        _, kdf_params = der.algorithm(kdf_alg)
        cipher_oid, iv_tlv = der.algorithm(enc_alg)
        if kdf_params is None or iv_tlv is None:
            raise DecryptError("missing PBKDF2 or cipher parameters")
        parts = kdf_params.children()
        salt = der.expect(parts[0], der.OCTET_STRING, "salt").value
        iterations = int.from_bytes(der.expect(parts[1], der.INTEGER, "iterations").value, "big")
        prf = "hmacWithSHA1"
        for item in parts[2:]:
            if item.tag == der.SEQUENCE:
                prf = oids.PRFS.get(der.algorithm(item)[0], "?")
    except (der.DerError, IndexError) as exc:
        raise DecryptError(f"bad PBES2 parameters: {exc}") from exc
    check_iterations(iterations, "PBKDF2")
    cipher = oids.PBES2_CIPHERS.get(cipher_oid)
    if cipher is None or prf not in _PRF_HASHES:
        raise DecryptError("unsupported PBES2 cipher or PRF")
    key_len = {"des-cbc": 8, "des-ede3-cbc": 24, "aes-128-cbc": 16, "aes-192-cbc": 24, "aes-256-cbc": 32}[cipher]
    try:
        key = PBKDF2HMAC(_PRF_HASHES[prf](), key_len, salt, iterations).derive(password)
    except (ValueError, OverflowError) as exc:
        raise DecryptError(f"bad PBKDF2 parameters: {exc}") from exc
    return cbc_decrypt(cipher, key, iv_tlv.value, data)


#: Key-derivation iteration counts above this would keep the board (and this tool) busy for minutes: the one
#: limit for check, fix, import-pfx and the hook.
MAX_ITERATIONS: Final = 10_000_000


def check_iterations(iterations: int, what: str) -> None:
    """Raises DecryptError for an iteration count outside 1..MAX_ITERATIONS (a key-derivation bomb)."""
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise DecryptError(f"the {what} iteration count ({iterations}) is not between 1 and {MAX_ITERATIONS}")


def _pkcs12_kdf(password: bytes, salt: bytes, iterations: int, purpose: int, size: int) -> bytes:
    """RFC 7292 B.2 with SHA-1; the password widened byte by byte to 16 bits, as Mbed TLS does."""
    u, v = 20, 64
    bmp = b"".join(b"\x00" + bytes([c]) for c in password) + b"\x00\x00" if password else b""
    d = bytes([purpose]) * v

    def fill(data: bytes) -> bytes:  # repeat to a whole number of v-byte blocks
        if not data:
            return b""
        size = v * ((len(data) + v - 1) // v)
        return (data * (size // len(data) + 1))[:size]

    i = fill(salt) + fill(bmp)
    out = b""
    while len(out) < size:
        a = hashlib.sha1(d + i, usedforsecurity=False).digest()
        for _ in range(1, iterations):
            a = hashlib.sha1(a, usedforsecurity=False).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        blocks = [int.from_bytes(i[j:j + v], "big") for j in range(0, len(i), v)]
        i = b"".join(((blk + b + 1) % (1 << (v * 8))).to_bytes(v, "big") for blk in blocks)
    return out[:size]


def decrypt_pkcs12(name: str, params: der.Tlv | None, data: bytes, password: bytes) -> bytes:
    """PKCS#12 PBE (pbeWithSHAAnd3-KeyTripleDES-CBC, …2-Key…, …128BitRC4). Raises DecryptError."""
    try:
        if params is None:
            raise DecryptError("missing PBE parameters")
        salt_tlv, iter_tlv = params.children()[:2]
        salt = der.expect(salt_tlv, der.OCTET_STRING, "salt").value
        iterations = int.from_bytes(der.expect(iter_tlv, der.INTEGER, "iterations").value, "big")
    except (der.DerError, ValueError) as exc:
        raise DecryptError(f"bad PBE parameters: {exc}") from exc
    check_iterations(iterations, "PKCS#12 PBE")
    if name == "pbeWithSHAAnd128BitRC4":
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4

        key = _pkcs12_kdf(password, salt, iterations, 1, 16)
        decryptor = Cipher(ARC4(key), mode=None).decryptor()
        return decryptor.update(data) + decryptor.finalize()
    key_len = 24 if "3-Key" in name else 16
    key = _pkcs12_kdf(password, salt, iterations, 1, key_len)
    iv = _pkcs12_kdf(password, salt, iterations, 2, 8)
    return cbc_decrypt("des-ede3-cbc", key, iv, data)
