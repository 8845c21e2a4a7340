"""Predict whether Mbed TLS parses ``private_key.pem`` with the pass file as it is, and why not.

Follows ``mbedtls_pk_parse_key``'s order (spec §2.1): PEM ``RSA PRIVATE KEY``, ``EC PRIVATE KEY``,
``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY`` (each found anywhere in the buffer), then DER. Decryption
uses the exact pass-file bytes, as Meadow does; a failure is then re-tried with a trailing newline
stripped, to tell "your pass file ends with a newline" from "wrong passphrase".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from hatch_meadow.creds import der, legacypem, oids, pkcs8crypt
from hatch_meadow.creds.cbc import DecryptError
from hatch_meadow.creds.mbedtls_errors import describe
from hatch_meadow.creds.passphrase import pass_file_readings
from hatch_meadow.creds.pem import PemRead, labels_in, read_block
from hatch_meadow.creds.pkcs8crypt import MAX_ITERATIONS
from hatch_meadow.creds.profiles import Profile
from hatch_meadow.findings import Finding
from hatch_meadow.names import PASS_FILE, PRIVATE_KEY

#: What cryptography raises for a key it cannot load (bad structure, unknown curve, …).
LOAD_ERRORS: Final = (ValueError, TypeError, UnsupportedAlgorithm)
RECODE_FIX: Final = ("run `hatch-meadow fix` to re-encrypt it as legacy PEM AES-256-CBC (accepted by every "
                     "Mbed TLS build), keeping the passphrase")


def mbedtls_error(name: str) -> str:
    """``NAME (-0xHHHH = -DDDDD)``, as Meadow logs it in decimal."""
    return describe(name)


@dataclass
class KeyVerdict:
    """The prediction for one key file."""

    accepted: bool = False
    error: str | None = None  # the Mbed TLS error predicted when not accepted
    encrypted: bool = False
    encoding: str = ""  # for people, e.g. "legacy PEM RSA PRIVATE KEY, AES-256-CBC"
    container: str = ""  # for code: "legacy-pem", "pkcs8", "pkcs8-encrypted", "der"
    dek: str | None = None  # legacy PEM DEK-Info cipher, e.g. "AES-256-CBC"
    key: PrivateKeyTypes | None = None  # the decrypted key, for the pair check
    findings: list[Finding] = field(default_factory=list)

    def reject(self, error: str, code: str, message: str, fix: str | None, file: str = PRIVATE_KEY) -> KeyVerdict:
        self.accepted = False
        self.error = error
        self.findings.append(Finding(code, "error", file, f"{message}; Mbed TLS: {mbedtls_error(error)}", fix))
        return self

    def note(self, code: str, severity: str, message: str, fix: str | None = None, file: str = PRIVATE_KEY) -> None:
        self.findings.append(Finding(code, severity, file, message, fix))  # type: ignore[arg-type]


def load_key_der(body: bytes) -> PrivateKeyTypes:
    """Load a DER private key, checking an RSA key's consistency once, the way Mbed TLS does at parse time
    (``mbedtls_rsa_check_privkey`` without a random source: the arithmetic relations, no primality test).
    OpenSSL's own check adds primality tests, which cost ~35 ms per RSA-2048 key and say nothing more here.

    Raises:
        ValueError / TypeError / UnsupportedAlgorithm: as ``load_der_private_key`` (an inconsistent RSA key is
            a ValueError).
    """
    key = serialization.load_der_private_key(body, password=None, unsafe_skip_rsa_key_validation=True)
    if isinstance(key, rsa.RSAPrivateKey) and not _rsa_consistent(key):
        raise ValueError("the RSA key's numbers are inconsistent")
    return key


def _rsa_consistent(key: rsa.RSAPrivateKey) -> bool:
    numbers = key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    p, q, d = numbers.p, numbers.q, numbers.d
    if min(p, q) < 3 or not 1 < e < n or not 1 < d < n or p * q != n:
        return False
    return ((e * d) % (p - 1) == 1 and (e * d) % (q - 1) == 1 and numbers.dmp1 == d % (p - 1)
            and numbers.dmq1 == d % (q - 1) and (numbers.iqmp * q) % p == 1)


def check_key(data: bytes, password: bytes | None, profile: Profile, *, pass_missing: bool = False) -> KeyVerdict:
    """Predict ``mbedtls_pk_parse_key(data + NUL, password)`` under ``profile``.

    Args:
        data: the key file's bytes.
        password: the pass file's exact bytes; None or b"" when the file is absent or empty.
        profile: the Mbed TLS build to predict for.
        pass_missing: the pass file does not exist at all (Meadow then passes length -1).
    """
    verdict = KeyVerdict()
    pwd = password or None
    for label, kind in (("RSA PRIVATE KEY", "RSA"), ("EC PRIVATE KEY", "EC")):
        block = read_block(data, label)
        if block.status != "absent":
            return _legacy_block(verdict, block, kind, pwd, profile, pass_missing=pass_missing)
    block = read_block(data, "PRIVATE KEY")
    if block.status != "absent":
        if block.status != "ok" or block.body is None:
            return verdict.reject("PEM_INVALID_DATA", "key-pem-framing",
                                  f"the PRIVATE KEY block is broken: {block.detail}",
                                  "re-export the key (openssl pkey -in old.pem -out private_key.pem)")
        verdict.encoding = "PKCS#8 PRIVATE KEY (unencrypted)"
        return _inner_pkcs8(verdict, block.body, profile)
    block = read_block(data, "ENCRYPTED PRIVATE KEY")
    if block.status != "absent":
        if block.status != "ok" or block.body is None:
            return verdict.reject("PEM_INVALID_DATA", "key-pem-framing",
                                  f"the ENCRYPTED PRIVATE KEY block is broken: {block.detail}", RECODE_FIX)
        verdict.encrypted = True
        return _encrypted_pkcs8(verdict, block.body, pwd, profile, pass_missing=pass_missing)
    return _not_pem(verdict, data, pwd, profile, pass_missing=pass_missing)


def _legacy_block(verdict: KeyVerdict, block: PemRead, kind: str, pwd: bytes | None, profile: Profile,
                  *, pass_missing: bool) -> KeyVerdict:
    verdict.encoding = f"legacy PEM {block.label}"
    verdict.container = "legacy-pem"
    if block.status == "unknown-cipher":
        verdict.encrypted = True
        return verdict.reject("PEM_UNKNOWN_ENC_ALG", "key-legacy-cipher",
                              f"the key is encrypted with '{block.detail}', which Mbed TLS cannot decrypt "
                              "(only DES-EDE3-CBC, DES-CBC and AES-128/192/256-CBC)", RECODE_FIX)
    if block.status != "ok" or block.body is None or (block.encrypted and block.iv is None):
        return verdict.reject("PEM_INVALID_DATA", "key-pem-framing", f"the {block.label} block is broken: "
                              f"{block.detail}", "re-export the key with openssl or `hatch-meadow fix`")
    body = block.body
    dek_name, iv = block.dek_name, block.iv
    if block.encrypted and dek_name is not None and iv is not None:
        verdict.encrypted = True
        verdict.encoding += f", {dek_name}"
        verdict.dek = dek_name
        if legacypem.LEGACY_CIPHERS[dek_name].needs_des and not profile.des:
            return verdict.reject("PEM_UNKNOWN_ENC_ALG", "key-des-unavailable",
                                  f"the key is encrypted with {dek_name}, but the '{profile.name}' profile "
                                  "has no DES (stock ESP-IDF, Mbed TLS 4)", RECODE_FIX)
        password = _require_password(verdict, pwd, pass_missing=pass_missing)
        if password is None:
            return verdict
        decrypted = _legacy_decrypt(body, password, dek_name, iv)
        if decrypted is None:
            return _wrong_password(verdict, password, lambda p: _legacy_decrypt(body, p, dek_name, iv))
        body = decrypted
    return _load_traditional(verdict, body, kind, profile)


def _legacy_decrypt(body: bytes, password: bytes, dek_name: str, iv: bytes) -> bytes | None:
    try:
        plain = legacypem.decrypt(body, password, dek_name, iv)
        der.read_single(plain)  # the decrypted body must be one DER structure
    except (DecryptError, der.DerError, KeyError):
        return None
    return plain


def _require_password(verdict: KeyVerdict, pwd: bytes | None, *, pass_missing: bool) -> bytes | None:
    """The password, or None after recording why Mbed TLS would say PK_PASSWORD_REQUIRED."""
    if pwd is not None:
        return pwd
    if pass_missing:
        verdict.reject("PK_PASSWORD_REQUIRED", "pass-missing",
                       f"the key is encrypted but there is no {PASS_FILE} (Meadow would also keep a stale "
                       "passphrase from an earlier provisioning)",
                       f"write the passphrase to {PASS_FILE} with no trailing newline (printf '%s' \"$PASS\" > "
                       f"{PASS_FILE}), or decrypt the key", file=PASS_FILE)
    else:
        verdict.reject("PK_PASSWORD_REQUIRED", "pass-empty", f"the key is encrypted but {PASS_FILE} is empty",
                       f"write the passphrase to {PASS_FILE} with no trailing newline", file=PASS_FILE)
    return None


def _wrong_password(verdict: KeyVerdict, pwd: bytes, attempt: Callable[[bytes], bytes | None]) -> KeyVerdict:
    for meant, code, what in reversed(pass_file_readings(pwd)):  # the fullest cleaning first
        if attempt(meant) is not None:
            fix = (f"save {PASS_FILE} without the trailing newline (`hatch-meadow fix` does it), e.g. printf '%s' "
                   f"\"$PASS\" > {PASS_FILE}") if code == "pass-trailing-newline" else (
                   f"save {PASS_FILE} as plain UTF-8 without a byte-order mark or line break (`hatch-meadow fix` "
                   "does it)")
            return verdict.reject("PK_PASSWORD_MISMATCH", code, f"{PASS_FILE} {what}; Meadow uses the file's "
                                  "exact bytes as the passphrase, so decryption fails", fix, file=PASS_FILE)
    return verdict.reject("PK_PASSWORD_MISMATCH", "pass-wrong",
                          f"{PASS_FILE} does not decrypt the key (wrong passphrase or a corrupt key)",
                          f"put the key's passphrase in {PASS_FILE}, exactly, with no trailing newline",
                          file=PASS_FILE)


def _load_traditional(verdict: KeyVerdict, body: bytes, kind: str, profile: Profile) -> KeyVerdict:
    if kind == "EC":
        problem = _sec1_problem(body)
        if problem:
            return verdict.reject("PK_KEY_INVALID_FORMAT", "key-ec-explicit", problem,
                                  "use a named curve: openssl ec -in old.pem -param_enc named_curve -out new.pem")
    try:
        key = load_key_der(body)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", f"the {kind} key inside the PEM block does "
                              "not parse (or uses a curve Mbed TLS does not have)", "re-export or re-generate the key")
    return _check_key_type(verdict, key, profile)


def _sec1_problem(body: bytes) -> str | None:
    try:
        parts = der.expect(der.read_single(body), der.SEQUENCE, "ECPrivateKey").children()
    except der.DerError as exc:
        return f"the EC key is not valid SEC1 DER ({exc})"
    params = [p for p in parts if p.tag == 0xA0]
    if not params:
        return "the EC key names no curve"
    try:
        inner = der.read_all(params[0].value)
    except der.DerError as exc:
        return f"the EC key's curve parameters are malformed ({exc})"
    if inner and inner[0].tag == der.SEQUENCE:
        return "the EC key uses explicit curve parameters, which no Mbed TLS build accepts"
    return None


def _encrypted_pkcs8(verdict: KeyVerdict, body: bytes, pwd: bytes | None, profile: Profile,
                     *, pass_missing: bool) -> KeyVerdict:
    try:
        parts = der.expect(der.read_single(body), der.SEQUENCE, "EncryptedPrivateKeyInfo").children()
        oid, params = der.algorithm(parts[0])
        der.expect(parts[1], der.OCTET_STRING, "encryptedData")
    except (der.DerError, IndexError) as exc:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", f"the encrypted PKCS#8 key does not "
                              f"parse ({exc})", "re-export the key")
    password = _require_password(verdict, pwd, pass_missing=pass_missing)
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
        return _wrong_password(verdict, password, attempt)
    return _inner_pkcs8(verdict, plain, profile)


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


def _inner_pkcs8(verdict: KeyVerdict, body: bytes, profile: Profile) -> KeyVerdict:
    try:
        parts = der.expect(der.read_single(body), der.SEQUENCE, "PrivateKeyInfo").children()
        oid, params = der.algorithm(parts[1])
    except (der.DerError, IndexError) as exc:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", f"the PKCS#8 key does not parse ({exc})",
                              "re-export or re-generate the key")
    name = oids.KEY_ALGORITHMS.get(oid, oid)
    if oid in (oids.X25519, oids.X448) and profile.rfc8410_keys:
        try:  # loaded for the pair check (3.5+ parses it, spec §5.3)
            verdict.key = load_key_der(body)
        except LOAD_ERRORS:
            verdict.key = None
    if oid not in (oids.RSA, oids.EC_PUBLIC_KEY):
        return _unsupported_type(verdict, name, profile)
    if oid == oids.EC_PUBLIC_KEY and params is not None and params.tag == der.SEQUENCE:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-ec-explicit", "the EC key uses explicit curve "
                              "parameters, which no Mbed TLS build accepts",
                              "use a named curve: openssl pkey -in old.pem -ec_param_enc named_curve")
    try:
        key = load_key_der(body)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", "the key does not parse (or uses a curve "
                              "Mbed TLS does not have)", "re-export or re-generate the key")
    return _check_key_type(verdict, key, profile)


def _unsupported_type(verdict: KeyVerdict, name: str, profile: Profile) -> KeyVerdict:
    fix = "generate an RSA-2048 or EC P-256 key: `hatch-meadow generate --force`"
    if name in ("X25519", "X448"):
        if profile.rfc8410_keys:  # Mbed TLS 3.5+ parses them as "EC" keys (§2.4, §5.3): parse says so
            verdict.accepted = True
            verdict.encoding += f"; {name}"
            verdict.note("key-cannot-sign", "error", f"the {name} key parses on Mbed TLS 3.5+, but it cannot "
                         "sign, so it can never authenticate a TLS client: the handshake fails", fix)
            return verdict
        return verdict.reject("PK_UNKNOWN_PK_ALG", "key-type-unsupported", f"{name} keys are for key exchange, "
                              "not for client certificates", fix)
    return verdict.reject("PK_UNKNOWN_PK_ALG", "key-type-unsupported",
                          f"{name} keys are not supported by Mbed TLS's pk module (RSA and EC only)", fix)


def _check_key_type(verdict: KeyVerdict, key: PrivateKeyTypes, profile: Profile) -> KeyVerdict:
    verdict.key = key
    fix = "generate an RSA-2048 or EC P-256 key: `hatch-meadow generate --force`"
    if isinstance(key, rsa.RSAPrivateKey):
        bits = key.key_size
        if bits > 8192:
            return verdict.reject("PK_KEY_INVALID_FORMAT", "key-rsa-size", f"RSA-{bits} is larger than Mbed TLS's "
                                  "8192-bit limit", fix)
        if bits < 2048:
            verdict.note("key-rsa-small", "warning", f"RSA-{bits} is weak; servers may refuse it", fix)
        verdict.encoding += f"; RSA-{bits}"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        curve = key.curve.name
        verdict.encoding += f"; EC {curve}"
        if profile.name == "portable" and curve in ("secp192r1", "secp224r1", "secp192k1", "secp224k1"):
            return verdict.reject("ECP_FEATURE_UNAVAILABLE", "key-ec-curve", f"{curve} is gone in Mbed TLS 4", fix)
        if curve not in oids.COMMON_CURVES:
            verdict.note("key-ec-curve", "warning", f"Mbed TLS parses {curve}, but TLS servers (Azure IoT Hub "
                         "among them) rarely accept it for client certificates", fix)
    else:
        kinds = {ed25519.Ed25519PrivateKey: "Ed25519", ed448.Ed448PrivateKey: "Ed448",
                 x25519.X25519PrivateKey: "X25519", x448.X448PrivateKey: "X448", dsa.DSAPrivateKey: "DSA"}
        name = next((n for t, n in kinds.items() if isinstance(key, t)), type(key).__name__)
        verdict.key = key if name in ("X25519", "X448") and profile.rfc8410_keys else None  # for the pair check
        return _unsupported_type(verdict, name, profile)
    verdict.accepted = True
    return verdict


def _not_pem(verdict: KeyVerdict, data: bytes, pwd: bytes | None, profile: Profile, *,
             pass_missing: bool) -> KeyVerdict:
    if not data.strip():
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-empty", f"{PRIVATE_KEY} is empty",
                              "generate credentials (`hatch-meadow generate`) or copy your key here")
    labels = labels_in(data)
    if labels:
        found = ", ".join(sorted(set(labels)))
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-no-supported-pem",
                              f"the file holds PEM block(s) Mbed TLS does not read as a private key: {found}",
                              "convert it: openssl pkey -in old.pem -out private_key.pem (OpenSSH and DSA keys "
                              "cannot be used)")
    if data[:1] == b"\x30":
        try:
            top = der.read_single(data).children()
        except der.DerError:
            top = []
        if len(top) == 2 and top[0].tag == der.SEQUENCE and top[1].tag == der.OCTET_STRING:
            # Encrypted PKCS#8 DER: every build tested reads it despite Meadow's trailing NUL.
            verdict.encrypted = True
            verdict.note("key-der", "warning", "the key is DER (binary) in a .pem file; PEM is the safe form",
                         "convert it: openssl pkey -inform DER -in private_key.pem -out new.pem (then rename)")
            return _encrypted_pkcs8(verdict, data, pwd, profile, pass_missing=pass_missing)
        if top:
            return _der_key(verdict, data, profile)
    if _looks_like_text(data):
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-placeholder",
                              f"{PRIVATE_KEY} is text without a PEM key block (a placeholder?); deploying it "
                              "would overwrite the board's working credentials with garbage",
                              "put the real key here or run `hatch-meadow generate`")
    return verdict.reject("PK_KEY_INVALID_FORMAT", "key-garbage", f"{PRIVATE_KEY} is neither PEM nor a DER key",
                          "put the real key here or run `hatch-meadow generate`")


def _der_key(verdict: KeyVerdict, data: bytes, profile: Profile) -> KeyVerdict:
    try:
        key = load_key_der(data)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-der", "the file is DER (binary), and not a key "
                              "Mbed TLS parses", "convert to PEM: openssl pkey -inform DER -in k.der -out "
                              "private_key.pem")
    top = der.read_single(data).children()
    is_pkcs8 = len(top) >= 2 and top[1].tag == der.SEQUENCE
    is_sec1 = not is_pkcs8 and isinstance(key, ec.EllipticCurvePrivateKey)
    ok = profile.pkcs8_der_with_nul if is_pkcs8 else profile.sec1_der_with_nul if is_sec1 else \
        profile.pkcs1_der_with_nul
    verdict.encoding = f"DER {'PKCS#8' if is_pkcs8 else 'SEC1' if is_sec1 else 'PKCS#1'}"
    fix = "convert to PEM: openssl pkey -inform DER -in private_key.pem -out private_key.pem.new"
    if not ok:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-der", "the key is DER (binary) in a .pem file; "
                              "Meadow appends a NUL byte, which this Mbed TLS rejects after DER", fix)
    verdict.note("key-der", "warning", "the key is DER (binary) in a .pem file; newer Mbed TLS builds reject it "
                 "because of the NUL byte Meadow appends", fix)
    return _check_key_type(verdict, key, profile)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    return all(32 <= b < 127 or b in (9, 10, 13) for b in sample.lstrip(b"\xef\xbb\xbf"))
