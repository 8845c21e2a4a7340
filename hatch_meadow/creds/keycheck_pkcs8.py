"""Encrypted PKCS#8 keys (``ENCRYPTED PRIVATE KEY``, or the same DER): which schemes Mbed TLS decrypts under a
profile (PBES2 with PBKDF2 and AES/DES, PKCS#12 PBE), with the shared iteration limit, then the inner key."""

from __future__ import annotations

from hatch_meadow.creds import der, oids, pkcs8crypt
from hatch_meadow.creds.cbc import DecryptError
from hatch_meadow.creds.keyverdict import RECODE_FIX, KeyVerdict, inner_pkcs8, require_password, wrong_password
from hatch_meadow.creds.pkcs8crypt import MAX_ITERATIONS
from hatch_meadow.creds.profiles import Profile
from hatch_meadow.names import PASS_FILE


def encrypted_pkcs8(verdict: KeyVerdict, body: bytes, pwd: bytes | None, profile: Profile,
                     *, pass_missing: bool) -> KeyVerdict:
    try:
        parts = der.expect(der.read_single(body), der.SEQUENCE, "EncryptedPrivateKeyInfo").children()
        oid, params = der.algorithm(parts[0])
        der.expect(parts[1], der.OCTET_STRING, "encryptedData")
    except (der.DerError, IndexError) as exc:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", f"the encrypted PKCS#8 key does not "
                              f"parse ({exc})", "re-export the key")
    password = require_password(verdict, pwd, pass_missing=pass_missing)
    if password is None:
        return verdict
    if oid in oids.PKCS12_PBE:
        problem = _pkcs12_problem(verdict, oids.PKCS12_PBE[oid], password, profile)
    elif oid == oids.PBES2:
        problem = _pbes2_problem(verdict, params, profile)
    elif oid in oids.PBES1:
        verdict.encoding = f"PKCS#8 PBES1 {oids.PBES1[oid]}"
        problem = ("PK_FEATURE_UNAVAILABLE", "key-pbes1", f"the key is encrypted with PKCS#5 v1.5 "
                   f"{oids.PBES1[oid]}, which Mbed TLS does not support")
    else:
        verdict.encoding = f"PKCS#8 encrypted with {oid}"
        problem = ("PK_FEATURE_UNAVAILABLE", "key-pkcs8-scheme", f"the key is encrypted with an unknown "
                   f"scheme ({oid})")
    if problem:
        return verdict.reject(problem[0], problem[1], problem[2], RECODE_FIX)
    encrypted = parts[1].value

    def attempt(candidate: bytes) -> bytes | None:
        try:
            if oid == oids.PBES2:
                if params is None:
                    return None
                plain = pkcs8crypt.decrypt_pbes2(params, encrypted, candidate)
            else:
                plain = pkcs8crypt.decrypt_pkcs12(oids.PKCS12_PBE[oid], params, encrypted, candidate)
            der.read_single(plain)
        except (DecryptError, der.DerError):
            return None
        return plain

    plain = attempt(password)
    if plain is None:
        return wrong_password(verdict, password, attempt)
    return inner_pkcs8(verdict, plain, profile)


def _pkcs12_problem(verdict: KeyVerdict, name: str, pwd: bytes, profile: Profile) -> tuple[str, str, str] | None:
    verdict.encoding = f"PKCS#8 PKCS#12 PBE {name}"
    if "TripleDES" in name:
        if not profile.pkcs12_pbe or not profile.des:
            return ("PKCS12_FEATURE_UNAVAILABLE", "key-pkcs12-des",
                    f"the key uses PKCS#12 {name}, which the '{profile.name}' profile cannot decrypt (no DES / "
                    "no PKCS#12 module)")
        if len(pwd) > 31:
            return ("PKCS12_BAD_INPUT_DATA", "pass-too-long-pkcs12",
                    f"PKCS#12 encryption in Mbed TLS allows at most 31 passphrase bytes; {PASS_FILE} has {len(pwd)}")
        if any(b > 0x7F for b in pwd):
            return ("PK_PASSWORD_MISMATCH", "pass-non-ascii-pkcs12",
                    "the passphrase has non-ASCII bytes, which Mbed TLS's PKCS#12 code widens differently from "
                    "OpenSSL, so decryption fails")
        return None
    if name == "pbeWithSHAAnd128BitRC4" and profile.pkcs12_rc4:
        return None
    return ("PK_FEATURE_UNAVAILABLE", "key-pkcs12-scheme", f"the key uses PKCS#12 {name}, which Mbed TLS "
            f"('{profile.name}') does not support")


def _pbes2_problem(verdict: KeyVerdict, params: der.Tlv | None, profile: Profile) -> tuple[str, str, str] | None:
    try:
        if params is None:
            raise der.DerError("PBES2 without parameters")
        kdf_alg, enc_alg = der.expect(params, der.SEQUENCE, "PBES2-params").children()[:2]
        kdf_oid, kdf_params = der.algorithm(kdf_alg)
        cipher_oid, _ = der.algorithm(enc_alg)
    except (ValueError, der.DerError) as exc:
        verdict.encoding = "PKCS#8 PBES2"
        return ("PK_KEY_INVALID_FORMAT", "key-invalid", f"the PBES2 parameters do not parse ({exc})")
    cipher = oids.PBES2_CIPHERS.get(cipher_oid, cipher_oid)
    if kdf_oid != oids.PBKDF2:
        verdict.encoding = f"PKCS#8 PBES2 {'scrypt' if kdf_oid == oids.SCRYPT else kdf_oid}, {cipher}"
        return ("PKCS5_FEATURE_UNAVAILABLE", "key-pbes2-kdf",
                f"the key is encrypted with PBES2 using {'scrypt' if kdf_oid == oids.SCRYPT else kdf_oid}; "
                "Mbed TLS only has PBKDF2")
    prf = "hmacWithSHA1"
    try:
        kdf_parts = der.expect(kdf_params, der.SEQUENCE, "PBKDF2-params").children() if kdf_params else []
        iterations = int.from_bytes(der.expect(kdf_parts[1], der.INTEGER, "iterationCount").value, "big") \
            if len(kdf_parts) > 1 else 0
        if not 1 <= iterations <= MAX_ITERATIONS:
            verdict.encoding = "PKCS#8 PBES2"
            return ("PK_KEY_INVALID_FORMAT", "key-invalid", f"the key's PBKDF2 iteration count ({iterations}) is "
                    f"not between 1 and {MAX_ITERATIONS}")
        prf_items = [p for p in kdf_parts[2:] if p.tag == der.SEQUENCE]
        if prf_items:
            prf_oid, _ = der.algorithm(prf_items[0])
            prf = oids.PRFS.get(prf_oid, prf_oid)
    except der.DerError as exc:
        return ("PK_KEY_INVALID_FORMAT", "key-invalid", f"the PBKDF2 parameters do not parse ({exc})")
    verdict.encoding = f"PKCS#8 PBES2 PBKDF2-{prf}, {cipher}"
    if prf not in oids.PRFS.values():
        return ("PKCS5_FEATURE_UNAVAILABLE", "key-pbes2-prf", f"the key's PBKDF2 PRF {prf} is not supported")
    if cipher.startswith("aes-"):
        if not profile.pbes2_aes:
            return ("PKCS5_FEATURE_UNAVAILABLE", "key-pbes2-aes",
                    f"the key is PKCS#8 encrypted with PBES2 {cipher} (OpenSSL 3's default for -aes256 and for "
                    f"`openssl pkcs12 -nocerts`); Mbed TLS before 3.6 ('{profile.name}') cannot decrypt it — "
                    "this is the board's 'Failed to parse private key'")
        return None
    if cipher in ("des-cbc", "des-ede3-cbc"):
        if not profile.des:
            return ("PKCS5_FEATURE_UNAVAILABLE", "key-des-unavailable",
                    f"the key is PKCS#8 encrypted with PBES2 {cipher}, but the '{profile.name}' profile has no DES")
        return None
    return ("PKCS5_FEATURE_UNAVAILABLE", "key-pbes2-cipher", f"the key is PKCS#8 encrypted with {cipher}, which "
            "Mbed TLS's PBES2 does not support")
