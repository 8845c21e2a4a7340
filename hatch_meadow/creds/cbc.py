"""The one CBC decryption (AES or DES/3DES with PKCS#7 padding) behind legacy PEM, PBES2 and PKCS#12 PBE,
and the one error it raises."""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class DecryptError(ValueError):
    """Wrong password or corrupt data: the lengths, the padding or the structure do not check out."""


def cbc_decrypt(cipher_name: str, key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt ``data``: ``cipher_name`` starts with ``aes-`` (AES-128/192/256 by key length) or names DES/3DES
    (an 8-byte key is single DES, 16 bytes two-key 3DES, 24 bytes three-key 3DES).

    Raises:
        DecryptError: lengths that do not fit the cipher, or bad padding (a wrong password, usually).
    """
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

    if cipher_name.lower().startswith("aes-"):
        algo: algorithms.AES | TripleDES = algorithms.AES(key)
        block = 128
    else:
        algo = TripleDES(key if len(key) == 24 else key * 3 if len(key) == 8 else key + key[:8])
        block = 64
    if len(data) % (block // 8) or not data:
        raise DecryptError("ciphertext length does not fit the cipher")
    if len(iv) != block // 8:
        raise DecryptError(f"a {len(iv)}-byte IV does not fit the cipher")
    decryptor = Cipher(algo, modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(block).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptError("bad padding") from exc
