"""A key's verdict and the steps every key encoding ends in: load the DER key (checking an RSA key once, as Mbed
TLS does), the passphrase checks, the PKCS#8 inner key, and the key type rules. Used by :mod:`keycheck` (the
encodings in Mbed TLS's order) and :mod:`keycheck_pkcs8` (encrypted PKCS#8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from hatch_meadow.creds import der, oids
from hatch_meadow.creds.mbedtls_errors import describe
from hatch_meadow.creds.passphrase import pass_file_readings
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


def require_password(verdict: KeyVerdict, pwd: bytes | None, *, pass_missing: bool) -> bytes | None:
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


def wrong_password(verdict: KeyVerdict, pwd: bytes, attempt: Callable[[bytes], bytes | None]) -> KeyVerdict:
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


def inner_pkcs8(verdict: KeyVerdict, body: bytes, profile: Profile) -> KeyVerdict:
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
        return unsupported_type(verdict, name, profile)
    if oid == oids.EC_PUBLIC_KEY and params is not None and params.tag == der.SEQUENCE:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-ec-explicit", "the EC key uses explicit curve "
                              "parameters, which no Mbed TLS build accepts",
                              "use a named curve: openssl pkey -in old.pem -ec_param_enc named_curve")
    try:
        key = load_key_der(body)
    except LOAD_ERRORS:
        return verdict.reject("PK_KEY_INVALID_FORMAT", "key-invalid", "the key does not parse (or uses a curve "
                              "Mbed TLS does not have)", "re-export or re-generate the key")
    return check_key_type(verdict, key, profile)


def unsupported_type(verdict: KeyVerdict, name: str, profile: Profile) -> KeyVerdict:
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


def check_key_type(verdict: KeyVerdict, key: PrivateKeyTypes, profile: Profile) -> KeyVerdict:
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
        return unsupported_type(verdict, name, profile)
    verdict.accepted = True
    return verdict
